import { RunStore } from '../../store';
import { IRawRecord, iso, T0, validated } from '../../__tests__/records';
import { escapeHtml, NO_VALUE, runsSummary, summaryHtml } from '../summary';

function run(id: string, name: string, lr: unknown, loss: number[], end: string | null): IRawRecord[] {
  const records: IRawRecord[] = [
    { type: 'run_start', t: iso(0), run: id, name, experiment: 'e', exec: null, code: null, energy: false },
    { type: 'param', t: iso(1), run: id, key: 'lr', value: lr, role: 'input' },
    {
      type: 'metrics',
      t: iso(2),
      run: id,
      batch: 1,
      series: [
        {
          metric: 'loss',
          ctx: null,
          steps: loss.map((_, i) => i),
          values: loss,
          timestamps: loss.map((_, i) => T0 + 10 + i),
          epochs: loss.map(() => -1)
        }
      ]
    }
  ];
  if (end) {
    records.push({ type: 'run_end', t: iso(1500), run: id, status: end, ename: null, evalue: null });
  }
  return records;
}

function runsOf(...records: IRawRecord[][]) {
  const store = new RunStore();
  store.apply('s1', validated(records.flat()));
  return Array.from(store.runs.values());
}

function unescapeHtml(text: string): string {
  const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
  return text.replace(/&(amp|lt|gt|quot|#39);/g, entity => entities[entity]);
}

const HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">';

describe('runsSummary', () => {
  it('keeps name, status, duration, params and the last value of each metric', () => {
    const summary = runsSummary(runsOf(run('a'.repeat(32), 'alpha', 0.1, [1, 0.5, 0.7], 'finished')), { now: T0 });
    expect(summary.columns).toEqual(['Run', 'Status', 'Duration', 'lr', 'loss last']);
    expect(summary.rows).toEqual([['alpha', 'finished', '1.5s', '0.1', '0.7']]);
  });

  it('shows a missing value as a dash, never as 0 or NaN', () => {
    const runs = runsOf(
      run('a'.repeat(32), 'alpha', 0.1, [NaN, NaN], 'finished'),
      run('b'.repeat(32), 'beta', 0.2, [0.25], null)
    );
    const summary = runsSummary(runs, { now: T0 + 4000 });
    const byName = new Map(summary.rows.map(row => [row[0], row]));
    expect(byName.get('alpha')![4]).toBe(NO_VALUE);
    expect(byName.get('beta')![4]).toBe('0.25');
    expect(byName.get('beta')![1]).toBe('running');
  });

  it('uses the display labels it is given', () => {
    const id = 'a'.repeat(32);
    const summary = runsSummary(runsOf(run(id, 'same', 1, [1], 'finished')), { now: T0, labels: new Map([[id, 'same (aaaa)']]) });
    expect(summary.rows[0][0]).toBe('same (aaaa)');
  });
});

describe('summaryHtml', () => {
  it('escapes every user string: run names, param keys and values, metric names', () => {
    const id = 'c'.repeat(32);
    const records = run(id, HOSTILE, HOSTILE, [1], 'finished').map(record =>
      record.type === 'param'
        ? { ...record, key: HOSTILE }
        : record.type === 'metrics'
          ? { ...record, series: (record.series as Record<string, unknown>[]).map(one => ({ ...one, metric: HOSTILE })) }
          : record
    );
    const html = summaryHtml(runsSummary(runsOf(records), { now: T0 }));
    // Every '<' opens one of the summary's own tags (user text holds none), and no tag has an
    // attribute but class and style.
    const tags = Array.from(html.matchAll(/<(\/?)([^\s>]*)([^>]*)>/g));
    expect(html.split('<').length - 1).toBe(tags.length);
    expect(new Set(tags.map(tag => tag[2]))).toEqual(new Set(['div', 'p', 'em', 'table', 'thead', 'tbody', 'tr', 'th', 'td']));
    for (const [, , , attributes] of tags) {
      expect(attributes.replace(/\s(class|style)="[^"]*"/g, '')).toBe('');
    }
    const texts = Array.from(html.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g), match => unescapeHtml(match[1]));
    expect(texts.filter(text => text === HOSTILE)).toHaveLength(3); // name, param key, param value
    expect(texts).toContain(`${HOSTILE} last`);
  });

  it('says when there are no runs', () => {
    const html = summaryHtml({ columns: [], rows: [] });
    expect(html).not.toContain('<table');
    expect(html).toContain('No runs recorded yet.');
  });

  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&#39;f');
  });
});
