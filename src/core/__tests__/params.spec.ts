import { parseJournalFile } from '../reader';
import { checkParamValue, paramProvValue } from '../params';

const T = '2025-01-02T03:04:05.000+00:00';
const RUN = 'a'.repeat(32);

const param = (value: unknown, valueType?: string): string =>
  JSON.stringify({
    type: 'param',
    t: T,
    run: RUN,
    key: 'k',
    role: 'input',
    value,
    ...(valueType ? { value_type: valueType } : {})
  });

describe('parameter values', () => {
  it('keeps big integers and special floats as the exact strings the kernel wrote', () => {
    const big = String(2n ** 64n);
    const huge = '1' + '0'.repeat(400);
    const text = [param(big, 'int'), param(huge, 'int'), param('nan', 'float'), param('-0.0', 'float'), param(0.1, 'float')].join(
      '\n'
    );
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text });
    expect(parsed.warnings).toEqual([]);
    const values = parsed.records.map(r => (r.record.type === 'param' ? [r.record.value, r.record.value_type] : null));
    expect(values).toEqual([
      [big, 'int'],
      [huge, 'int'],
      ['nan', 'float'],
      ['-0.0', 'float'],
      [0.1, 'float']
    ]);
  });

  it('reads journals written before value_type existed', () => {
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text: param(3) });
    expect(parsed.records[0].record).toMatchObject({ value: 3, value_type: null });
  });

  it('rejects a value that does not match its type, losing only that line', () => {
    const text = [
      param('12a', 'int'),
      param(2 ** 60, 'int'),
      param('hello', 'float'),
      param(1, 'weird'),
      param(true, 'bool')
    ].join('\n');
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text });
    expect(parsed.records.map(r => r.line)).toEqual([5]);
    expect(parsed.warnings.map(w => w.line)).toEqual([1, 2, 3, 4]);
  });

  it('writes typed PROV literals wherever a JSON number would not be exact', () => {
    expect(paramProvValue(String(2n ** 64n), 'int')).toEqual({ $: '18446744073709551616', type: 'xsd:integer' });
    expect(paramProvValue('nan', 'float')).toEqual({ $: 'NaN', type: 'xsd:double' });
    expect(paramProvValue('-inf', 'float')).toEqual({ $: '-INF', type: 'xsd:double' });
    expect(paramProvValue('-0.0', 'float')).toEqual({ $: '-0', type: 'xsd:double' });
    expect(paramProvValue(3, 'int')).toBe(3);
    expect(paramProvValue('3', 'str')).toBe('3');
    expect(paramProvValue('(1, 2)', 'repr')).toBe('(1, 2)');
  });

  it('explains what each type accepts', () => {
    expect(checkParamValue(null, 'null')).toBeNull();
    expect(checkParamValue(1.5, 'int')).toContain('int parameter');
    expect(checkParamValue(Infinity, 'float')).toContain('float parameter');
    expect(checkParamValue(1, 'str')).toContain('str parameter');
  });
});

describe('gap and journal_status records', () => {
  it('are validated like every other record', () => {
    const text = [
      JSON.stringify({
        type: 'gap',
        t: T,
        seq: 7,
        run: RUN,
        records: 2,
        points: 131072,
        reason: 'ENOSPC: No space left on device'
      }),
      JSON.stringify({ type: 'journal_status', t: T, seq: 8, state: 'failing', reason: 'ENOSPC' }),
      JSON.stringify({ type: 'journal_status', t: T, seq: 9, state: 'maybe', reason: 'x' }),
      JSON.stringify({ type: 'gap', t: T, seq: 10, run: RUN, records: 1, reason: 'x' })
    ].join('\n');
    const parsed = parseJournalFile({ name: 'k-s.jsonl', text });
    expect(parsed.records.map(r => r.record.type)).toEqual(['gap', 'journal_status']);
    expect(parsed.warnings.map(w => w.line)).toEqual([3, 4]);
  });
});
