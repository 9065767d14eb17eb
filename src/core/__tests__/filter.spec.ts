import { compileFilter, FilterError } from '../filter';
import type { RunRow } from '../runtable';

const rows: RunRow[] = [
  {
    id: 'a',
    status: 'finished',
    'params.lr': 0.1,
    'params.opt': 'adam',
    'metrics.loss': 0.5,
    start: '2025-01-02T03:00:00.000+00:00'
  },
  {
    id: 'b',
    status: 'failed',
    'params.lr': 0.001,
    'params.opt': 'SGD',
    'metrics.loss': NaN,
    start: '2025-01-03T03:00:00.000+01:00'
  },
  { id: 'c', status: 'finished', 'params.lr': null, 'params.big': 2n ** 60n, 'params.flag': true, start: '2025-01-04T00:00:00Z' },
  { id: 'd', status: 'running', 'params.lr': '0.05', 'params.batch size': 32 }
];
const columns = [
  'id',
  'status',
  'start',
  'params.lr',
  'params.opt',
  'params.big',
  'params.flag',
  'params.batch size',
  'metrics.loss'
];
const ids = (expression: string): string[] => rows.filter(compileFilter(expression, columns)).map(row => String(row.id));
const error = (expression: string): string => {
  try {
    compileFilter(expression, columns);
  } catch (caught) {
    expect(caught).toBeInstanceOf(FilterError);
    return (caught as Error).message;
  }
  throw new Error(`no error for ${expression}`);
};

describe('compileFilter', () => {
  it('combines comparisons with and, or, not and parentheses (and binds tighter than or)', () => {
    expect(ids("params.lr > 0.01 and status = 'finished'")).toEqual(['a']);
    expect(ids("status = 'failed' or status = 'running' and params.lr < 1")).toEqual(['b', 'd']);
    expect(ids("(status = 'failed' or status = 'running') and params.lr < 0.01")).toEqual(['b']);
    expect(ids("not status = 'finished'")).toEqual(['b', 'd']);
    expect(ids("status = 'finished' AND params.lr >= 0.1 OR NOT status IN ('finished', 'failed')")).toEqual(['a', 'd']);
    expect(error("STATUS = 'finished'")).toMatch(/unknown field "STATUS"/); // field names are case-sensitive
  });

  it('compares numbers with numbers or numeric strings, never a missing value', () => {
    expect(ids('params.lr <= 0.05')).toEqual(['b', 'd']);
    expect(ids('params.lr != 0.1')).toEqual(['b', 'd']);
    expect(ids('params.lr is null')).toEqual(['c']);
    expect(ids('params.lr is not null')).toEqual(['a', 'b', 'd']);
    expect(ids('metrics.loss < 1')).toEqual(['a']); // NaN matches no comparison
  });

  it('compares big integers exactly and booleans by equality', () => {
    expect(ids('params.big > 1152921504606846975')).toEqual(['c']);
    expect(ids('params.big = 1152921504606846976')).toEqual(['c']);
    expect(ids('params.big < 1152921504606846976')).toEqual([]);
    expect(ids('params.flag = true')).toEqual(['c']);
    expect(ids('params.flag = false')).toEqual([]);
    expect(ids("params.flag = 'true'")).toEqual([]);
  });

  it('takes in, like and ilike, backquoted names and the attributes. prefix', () => {
    expect(ids("params.opt in ('adam', 'sgd')")).toEqual(['a']);
    expect(ids("params.opt not in ('adam')")).toEqual(['b']);
    expect(ids("params.opt like 'a%'")).toEqual(['a']);
    expect(ids("params.opt ilike 's_d'")).toEqual(['b']);
    expect(ids("params.opt not like 'a%'")).toEqual(['b']);
    expect(ids('params.`batch size` = 32')).toEqual(['d']);
    expect(ids("attributes.status = 'running'")).toEqual(['d']);
    expect(ids(`status = "it's" or id = 'it''s'`)).toEqual([]);
  });

  it('compares start and end as instants, whatever their offsets', () => {
    expect(ids("start > '2025-01-03T02:30:00Z'")).toEqual(['c']);
    expect(ids("start < '2025-01-03T03:00:00+00:00'")).toEqual(['a', 'b']);
  });

  it('names the position of a syntax error', () => {
    expect(error('params.lr >> 0.01')).toMatch(/expected a value .* found ">" at character 12/);
    expect(error("status = 'finished")).toMatch(/unterminated string at character 10/);
    expect(error('params.lr > 0.1 and')).toMatch(/expected a field name .* found the end of the filter/);
    expect(error('(params.lr > 0.1')).toMatch(/expected "\)"/);
    expect(error('params.lr 0.1')).toMatch(/expected a comparison/);
    expect(error('params.lr > 0.1 status')).toMatch(/expected and, or or the end/);
    expect(error('params.opt like 3')).toMatch(/like needs a 'string' pattern/);
    expect(error('params.lr ; drop')).toMatch(/unexpected ";"/);
    expect(error('   ')).toMatch(/empty/);
  });

  it('names the available columns for an unknown field', () => {
    const message = error('params.lrr > 0.01');
    expect(message).toMatch(/unknown field "params.lrr" at character 1/);
    expect(message).toContain('available columns: id, status, start, params.lr, params.opt');
  });
});
