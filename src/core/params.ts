/**
 * Parameter values as the kernel records them (`value` + `value_type`, see ARCHITECTURE.md):
 * integers beyond 2^53 and the floats JSON cannot hold (NaN, ±inf, -0.0) travel as strings, so
 * that no JSON reader here turns them into (other) doubles. These functions never parse them.
 */

export type ParamValueType = 'null' | 'bool' | 'int' | 'float' | 'str' | 'repr';

export const PARAM_VALUE_TYPES: readonly ParamValueType[] = ['null', 'bool', 'int', 'float', 'str', 'repr'];

/** The strings a `float` parameter can hold, with their XSD lexical forms. */
const SPECIAL_FLOATS: Record<string, string> = { nan: 'NaN', inf: 'INF', '-inf': '-INF', '-0.0': '-0' };

/** Whether `value` is a valid encoding for `valueType`; the reason when it is not. */
export function checkParamValue(value: unknown, valueType: ParamValueType): string | null {
  switch (valueType) {
    case 'null':
      return value === null ? null : 'a null parameter must have the value null';
    case 'bool':
      return typeof value === 'boolean' ? null : 'a bool parameter must be true or false';
    case 'int':
      return Number.isSafeInteger(value) || (typeof value === 'string' && /^-?[0-9]+$/.test(value))
        ? null
        : 'an int parameter must be a safe integer or a string of decimal digits';
    case 'float':
      return (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value in SPECIAL_FLOATS)
        ? null
        : 'a float parameter must be a finite number or one of nan, inf, -inf, -0.0';
    case 'str':
    case 'repr':
      return typeof value === 'string' ? null : `a ${valueType} parameter must be a string`;
  }
}

/** The PROV-JSON value: a typed literal wherever a plain JSON value would not be exact. */
export function paramProvValue(
  value: string | number | boolean | null,
  valueType: ParamValueType | null
): string | number | boolean | { $: string; type: string } | null {
  if (typeof value === 'string' && valueType === 'int') {
    return { $: value, type: 'xsd:integer' };
  }
  if (typeof value === 'string' && valueType === 'float') {
    return { $: SPECIAL_FLOATS[value], type: 'xsd:double' };
  }
  return value;
}
