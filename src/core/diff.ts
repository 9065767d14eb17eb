/**
 * Line diff (Myers' O(ND) algorithm after trimming the common prefix and suffix) with a
 * structured hunk form for the widget and a unified-diff rendering for the PROV export.
 */

export type DiffLineKind = 'context' | 'removed' | 'added';

export interface IDiffLine {
  kind: DiffLineKind;
  text: string;
}

export interface IDiffHunk {
  /** 1-based first line in the old text (0 when the hunk has no old lines). */
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: IDiffLine[];
}

/** Splits text into lines; a trailing newline does not produce an extra empty line. */
export function splitLines(text: string): string[] {
  if (text === '') {
    return [];
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** Edit script as a list of line operations, in order. */
export function diffLines(oldLines: string[], newLines: string[]): IDiffLine[] {
  // Intern lines so the inner loop compares integers.
  const ids = new Map<string, number>();
  const intern = (line: string): number => {
    let id = ids.get(line);
    if (id === undefined) {
      id = ids.size;
      ids.set(line, id);
    }
    return id;
  };
  const a = oldLines.map(intern);
  const b = newLines.map(intern);

  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) {
    prefix++;
  }
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix] === b[b.length - 1 - suffix]) {
    suffix++;
  }
  const oldMiddle = a.slice(prefix, a.length - suffix);
  const newMiddle = b.slice(prefix, b.length - suffix);
  // Sides with no line in common (a cell rewritten whole) need no search, which would cost
  // Myers' worst case, (N + M)², there.
  const oldSet = new Set(oldMiddle);
  const middle: DiffLineKind[] = newMiddle.some(id => oldSet.has(id))
    ? myers(oldMiddle, newMiddle)
    : [...oldMiddle.map((): DiffLineKind => 'removed'), ...newMiddle.map((): DiffLineKind => 'added')];

  const result: IDiffLine[] = [];
  for (let i = 0; i < prefix; i++) {
    result.push({ kind: 'context', text: oldLines[i] });
  }
  let ai = prefix;
  let bi = prefix;
  for (const kind of middle) {
    if (kind === 'context') {
      result.push({ kind, text: oldLines[ai++] });
      bi++;
    } else if (kind === 'removed') {
      result.push({ kind, text: oldLines[ai++] });
    } else {
      result.push({ kind, text: newLines[bi++] });
    }
  }
  for (let i = a.length - suffix; i < a.length; i++) {
    result.push({ kind: 'context', text: oldLines[i] });
  }
  return result;
}

/**
 * Bound on the saved frontiers (Int32 entries, 64 MiB): beyond it the sources share almost
 * nothing and a whole replacement is as readable as a minimal script.
 */
const MAX_TRACE_ENTRIES = 1 << 24;

/** Myers' greedy forward algorithm with a saved frontier per step for the backtrack. */
function myers(a: number[], b: number[]): DiffLineKind[] {
  const n = a.length;
  const m = b.length;
  const replaceAll = (): DiffLineKind[] => [...Array<DiffLineKind>(n).fill('removed'), ...Array<DiffLineKind>(m).fill('added')];
  if (n === 0 || m === 0) {
    return replaceAll();
  }
  const max = n + m;
  const offset = max;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  let traceEntries = 0;
  for (let d = 0; d <= max && !found; d++) {
    traceEntries += 2 * d + 2;
    if (traceEntries > MAX_TRACE_ENTRIES) {
      return replaceAll();
    }
    trace.push(v.slice(offset - d, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Backtrack from (n, m); trace[d] holds v before step d for diagonals -d..d+1.
  const ops: DiffLineKind[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const saved = trace[d];
    const at = (k: number): number => saved[k + d];
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push('context');
      x--;
      y--;
    }
    ops.push(x === prevX ? 'added' : 'removed');
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    ops.push('context');
    x--;
    y--;
  }
  return ops.reverse();
}

/** Groups an edit script into hunks with `context` unchanged lines around each change. */
export function diffHunks(oldText: string, newText: string, context = 3): IDiffHunk[] {
  const lines = diffLines(splitLines(oldText), splitLines(newText));
  const hunks: IDiffHunk[] = [];
  // Old/new line numbers (0-based) before each script entry.
  const oldAt: number[] = [];
  const newAt: number[] = [];
  let o = 0;
  let n = 0;
  for (const line of lines) {
    oldAt.push(o);
    newAt.push(n);
    if (line.kind !== 'added') {
      o++;
    }
    if (line.kind !== 'removed') {
      n++;
    }
  }
  let i = 0;
  while (i < lines.length) {
    if (lines[i].kind === 'context') {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend while the next change is within 2*context unchanged lines.
    for (;;) {
      while (end < lines.length && lines[end].kind !== 'context') {
        end++;
      }
      let gap = end;
      while (gap < lines.length && lines[gap].kind === 'context') {
        gap++;
      }
      if (gap < lines.length && gap - end <= 2 * context) {
        end = gap;
        continue;
      }
      end = Math.min(lines.length, end + context);
      break;
    }
    const slice = lines.slice(start, end);
    const oldLines = slice.filter(l => l.kind !== 'added').length;
    const newLines = slice.filter(l => l.kind !== 'removed').length;
    hunks.push({
      oldStart: oldLines === 0 ? oldAt[start] : oldAt[start] + 1,
      oldLines,
      newStart: newLines === 0 ? newAt[start] : newAt[start] + 1,
      newLines,
      lines: slice
    });
    i = end;
  }
  return hunks;
}

const PREFIX: Record<DiffLineKind, string> = { context: ' ', removed: '-', added: '+' };

/** Unified diff text (`---`/`+++` headers, `@@` hunks); empty string when the texts are equal. */
export function unifiedDiff(oldText: string, newText: string, oldName = 'a', newName = 'b'): string {
  const hunks = diffHunks(oldText, newText);
  if (hunks.length === 0) {
    return '';
  }
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  for (const hunk of hunks) {
    out.push(`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`);
    for (const line of hunk.lines) {
      out.push(PREFIX[line.kind] + line.text);
    }
  }
  return out.join('\n') + '\n';
}
