/**
 * MLflow-like run filters over the run table (`core/runtable.ts`), e.g.
 * `params.lr > 0.01 and status = 'finished'`.
 *
 * Grammar (keywords in any case):
 *   expr       := and ('or' and)*
 *   and        := unary ('and' unary)*
 *   unary      := 'not' unary | '(' expr ')' | comparison
 *   comparison := field op literal | field ['not'] 'in' '(' literal (',' literal)* ')'
 *               | field ['not'] ('like' | 'ilike') string | field 'is' ['not'] 'null'
 *   op         := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 *   literal    := number | 'string' | "string" | true | false | null
 *   field      := a column name (`params.lr`, `metrics.training/loss.min`); parts with other characters
 *                 in backquotes (params.`batch size`); an `attributes.` prefix (MLflow's) is ignored.
 *
 * Semantics: a run without the field (or with null) matches no comparison, only `is null`. A number
 * compares with a number (or a string holding one); strings compare as strings, `start`/`end` as
 * instants; `like` takes SQL's `%` and `_`.
 */

import type { CellValue, RunRow } from './runtable';

export class FilterError extends Error {}

type Literal = string | number | bigint | boolean | null;
type Predicate = (row: RunRow) => boolean;

interface IToken {
  kind: 'field' | 'word' | 'number' | 'string' | 'op' | 'punct' | 'end';
  text: string;
  /** The field name with backquotes removed (fields), the string's value (strings). */
  value: string;
  at: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'ilike', 'is', 'null', 'true', 'false']);
const DATE_COLUMNS = new Set(['start', 'end']);
const FIELD_CHAR = /[A-Za-z0-9_.\-/[\]:@]/;

function tokenize(expression: string): IToken[] {
  const tokens: IToken[] = [];
  let at = 0;
  const fail = (message: string, where: number): never => {
    throw new FilterError(positioned(expression, message, where));
  };
  while (at < expression.length) {
    const char = expression[at];
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    const start = at;
    const two = expression.slice(at, at + 2);
    if (['<=', '>=', '!=', '<>', '=='].includes(two)) {
      tokens.push({ kind: 'op', text: two, value: two, at: start });
      at += 2;
    } else if ('=<>'.includes(char)) {
      tokens.push({ kind: 'op', text: char, value: char, at: start });
      at++;
    } else if ('(),'.includes(char)) {
      tokens.push({ kind: 'punct', text: char, value: char, at: start });
      at++;
    } else if (char === "'" || char === '"') {
      let value = '';
      at++;
      for (;;) {
        if (at >= expression.length) {
          fail('unterminated string', start);
        }
        if (expression[at] === char) {
          if (expression[at + 1] === char) {
            value += char; // a doubled quote stands for itself, as in SQL
            at += 2;
            continue;
          }
          at++;
          break;
        }
        value += expression[at++];
      }
      tokens.push({ kind: 'string', text: expression.slice(start, at), value, at: start });
    } else if (/[0-9+-]/.test(char) || (char === '.' && /[0-9]/.test(expression[at + 1] ?? ''))) {
      const match = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(expression.slice(at));
      if (!match) {
        fail(`unexpected ${JSON.stringify(char)}`, start);
      }
      at += match![0].length;
      tokens.push({ kind: 'number', text: match![0], value: match![0], at: start });
    } else if (/[A-Za-z_`]/.test(char)) {
      let value = '';
      let quoted = false;
      while (at < expression.length) {
        if (expression[at] === '`') {
          const close = expression.indexOf('`', at + 1);
          if (close === -1) {
            fail('unterminated `', at);
          }
          value += expression.slice(at + 1, close);
          quoted = true;
          at = close + 1;
        } else if (FIELD_CHAR.test(expression[at])) {
          value += expression[at++];
        } else {
          break;
        }
      }
      const text = expression.slice(start, at);
      const keyword = !quoted && KEYWORDS.has(value.toLowerCase());
      tokens.push({ kind: keyword ? 'word' : 'field', text, value: keyword ? value.toLowerCase() : value, at: start });
    } else {
      fail(`unexpected ${JSON.stringify(char)}`, start);
    }
  }
  tokens.push({ kind: 'end', text: 'end of filter', value: '', at: expression.length });
  return tokens;
}

function positioned(expression: string, message: string, at: number): string {
  return `bad filter: ${message} at character ${at + 1}\n  ${expression}\n  ${' '.repeat(at)}^`;
}

function toNumber(value: CellValue | Literal): number | bigint | null {
  if (typeof value === 'number' || typeof value === 'bigint') {
    return value;
  }
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) {
    return Number(value);
  }
  return null;
}

/** -1, 0, 1, or null when the two cannot be compared (a missing value, different kinds, NaN). */
function compare(cell: CellValue | undefined, literal: Literal, column: string): number | null {
  if (cell === null || cell === undefined || literal === null) {
    return null;
  }
  if (typeof literal === 'boolean' || typeof cell === 'boolean') {
    return typeof literal === typeof cell ? (cell === literal ? 0 : cell ? 1 : -1) : null;
  }
  if (typeof literal === 'number' || typeof literal === 'bigint' || typeof cell === 'number' || typeof cell === 'bigint') {
    const a = toNumber(cell);
    const b = toNumber(literal);
    if (a === null || b === null) {
      return null;
    }
    // bigint and number compare exactly with < and >; NaN compares as neither.
    return a < b ? -1 : a > b ? 1 : a == b ? 0 : null;
  }
  if (DATE_COLUMNS.has(column)) {
    const a = Date.parse(cell);
    const b = Date.parse(literal);
    if (!Number.isNaN(a) && !Number.isNaN(b)) {
      return a < b ? -1 : a > b ? 1 : 0;
    }
  }
  return cell < literal ? -1 : cell > literal ? 1 : 0;
}

function likePattern(pattern: string, insensitive: boolean): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\%_]/g, char => (char === '%' ? '.*' : char === '_' ? '.' : `\\${char}`));
  return new RegExp(`^${body}$`, insensitive ? 'is' : 's');
}

class Parser {
  private at = 0;

  constructor(
    private readonly expression: string,
    private readonly tokens: IToken[],
    private readonly columns: ReadonlySet<string>
  ) {}

  parse(): Predicate {
    const predicate = this.or();
    this.expect('end', undefined, 'and, or or the end of the filter');
    return predicate;
  }

  private get token(): IToken {
    return this.tokens[this.at];
  }

  private fail(message: string, token: IToken = this.token): never {
    throw new FilterError(positioned(this.expression, message, token.at));
  }

  private accept(kind: IToken['kind'], value?: string): IToken | null {
    const token = this.token;
    if (token.kind === kind && (value === undefined || token.value === value)) {
      this.at++;
      return token;
    }
    return null;
  }

  private expect(kind: IToken['kind'], value: string | undefined, what: string): IToken {
    return this.accept(kind, value) ?? this.fail(`expected ${what}, found ${this.describe(this.token)}`);
  }

  private describe(token: IToken): string {
    return token.kind === 'end' ? 'the end of the filter' : JSON.stringify(token.text);
  }

  private or(): Predicate {
    const parts = [this.and()];
    while (this.accept('word', 'or')) {
      parts.push(this.and());
    }
    return parts.length === 1 ? parts[0] : row => parts.some(part => part(row));
  }

  private and(): Predicate {
    const parts = [this.unary()];
    while (this.accept('word', 'and')) {
      parts.push(this.unary());
    }
    return parts.length === 1 ? parts[0] : row => parts.every(part => part(row));
  }

  private unary(): Predicate {
    if (this.accept('word', 'not')) {
      const inner = this.unary();
      return row => !inner(row);
    }
    if (this.accept('punct', '(')) {
      const inner = this.or();
      this.expect('punct', ')', '")"');
      return inner;
    }
    return this.comparison();
  }

  private field(): string {
    const token = this.token;
    if (token.kind !== 'field') {
      this.fail(`expected a field name (such as params.lr or status), found ${this.describe(token)}`);
    }
    this.at++;
    const name = token.value.startsWith('attributes.') ? token.value.slice('attributes.'.length) : token.value;
    if (!this.columns.has(name)) {
      const message = positioned(this.expression, `unknown field ${JSON.stringify(name)}`, token.at);
      throw new FilterError(`${message}\navailable columns: ${[...this.columns].join(', ')}`);
    }
    return name;
  }

  private literal(): Literal {
    const token = this.token;
    this.at++;
    switch (token.kind) {
      case 'number': {
        // An integer beyond 2^53 stays exact, to compare with the big integer parameters.
        const integer = /^[+-]?[0-9]+$/.test(token.value) ? BigInt(token.value) : null;
        return integer !== null && (integer > BigInt(Number.MAX_SAFE_INTEGER) || -integer > BigInt(Number.MAX_SAFE_INTEGER))
          ? integer
          : Number(token.value);
      }
      case 'string':
        return token.value;
      case 'word':
        if (token.value === 'true' || token.value === 'false') {
          return token.value === 'true';
        }
        if (token.value === 'null') {
          return null;
        }
    }
    this.at--;
    return this.fail(`expected a value (a number, a 'string', true or false), found ${this.describe(token)}`);
  }

  private comparison(): Predicate {
    const column = this.field();
    if (this.accept('word', 'is')) {
      const negated = this.accept('word', 'not') !== null;
      this.expect('word', 'null', 'null');
      return row => (row[column] === null || row[column] === undefined) !== negated;
    }
    const negated = this.accept('word', 'not') !== null;
    if (this.accept('word', 'in')) {
      this.expect('punct', '(', '"("');
      const values = [this.literal()];
      while (this.accept('punct', ',')) {
        values.push(this.literal());
      }
      this.expect('punct', ')', '")" or ","');
      return row => {
        const cell = row[column];
        if (cell === null || cell === undefined) {
          return false;
        }
        return values.some(value => compare(cell, value, column) === 0) !== negated;
      };
    }
    const like = this.accept('word', 'like') ?? this.accept('word', 'ilike');
    if (like) {
      const pattern = this.token;
      if (pattern.kind !== 'string') {
        this.fail(`${like.value} needs a 'string' pattern, found ${this.describe(pattern)}`);
      }
      this.at++;
      const regex = likePattern(pattern.value, like.value === 'ilike');
      return row => {
        const cell = row[column];
        return typeof cell === 'string' && regex.test(cell) !== negated;
      };
    }
    if (negated) {
      this.fail(`expected in, like or ilike after not, found ${this.describe(this.token)}`);
    }
    const op = this.expect('op', undefined, 'a comparison (=, !=, <, <=, >, >=, in, like, is null)').value;
    const value = this.literal();
    const test: Record<string, (order: number) => boolean> = {
      '=': order => order === 0,
      '==': order => order === 0,
      '!=': order => order !== 0,
      '<>': order => order !== 0,
      '<': order => order < 0,
      '<=': order => order <= 0,
      '>': order => order > 0,
      '>=': order => order >= 0
    };
    return row => {
      const order = compare(row[column], value, column);
      return order !== null && test[op](order);
    };
  }
}

/**
 * A predicate over rows for `expression`; a `FilterError` for a filter that does not parse or names a
 * field outside `columns` (the error lists them).
 */
export function compileFilter(expression: string, columns: Iterable<string>): Predicate {
  const tokens = tokenize(expression);
  if (tokens.length === 1) {
    throw new FilterError('bad filter: it is empty');
  }
  return new Parser(expression, tokens, new Set(columns)).parse();
}
