/**
 * Redaction of credentials before the page writes or shows anything: the twin of nbprov/redact.py,
 * with the same default patterns (nbprov/redact_patterns.json, bundled at build time). A match
 * becomes `[redacted:<kind>]` (only its group 1 when the pattern has one). Pure: no JupyterLab imports.
 */

// Read at build time: the patterns file lies outside the TypeScript root, in the Python package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DEFAULTS: { patterns: IRedactPattern[] } = require('../../nbprov/redact_patterns.json');

/** One pattern: `flags` is '' or 'i'. */
export interface IRedactPattern {
  kind: string;
  pattern: string;
  flags?: string;
}

/** Milliseconds a user pattern may take per MiB of text before it is skipped. */
export const SLOW_MS = 5;
const MIB = 1 << 20;
// As in redact.py: sizes grow slowly at first so that an exploding pattern is caught on a few
// dozen characters; below 200 KiB the budget is 1 ms.
const PROBE_SIZES = [16, 24, 32, 48, 64, 96, 128, 256, 1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, MIB];
const PROBE_FLOOR_MS = 1;
const RUN_LENGTHS = [8, 12, 16, 20, 24, 28, 32, 64];
const PROBE_BLOCK =
  // Runs stay short here: a longer one would be a trigger larger than the step to the next size.
  'aaaaaaaa' +
  ' 00000000 the quick brown fox, key=value; x: y\n' +
  '----- \t<b>é</b> [x] (y) {z} \'q\' "w" ab_cd-ef.gh/ij+kl=mn 1.5e-3 -1 ====\n';
const KIND = /^[A-Za-z0-9_.-]{1,40}$/;

interface ICompiled {
  kind: string;
  regex: RegExp;
  user: boolean;
  slowBefore: boolean;
}

export function marker(kind: string): string {
  return `[redacted:${kind}]`;
}

function compile(spec: IRedactPattern, user: boolean): ICompiled {
  // 'd' gives group offsets; no 'u', so that \b, classes and ignore-case stay ASCII as in Python's re.ASCII.
  return { kind: spec.kind, regex: new RegExp(spec.pattern, 'gd' + (spec.flags === 'i' ? 'i' : '')), user, slowBefore: false };
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/** As in redact.py: runs of each printable character (where nested quantifiers explode), then a mixed sample. */
function* probeTexts(): Generator<string> {
  for (let code = 0x20; code < 0x7f; code++) {
    for (const length of RUN_LENGTHS) {
      // The control character after the run makes a match that needs the run's end fail late.
      yield String.fromCharCode(code).repeat(length) + '\x01';
    }
  }
  const sample = PROBE_BLOCK.repeat(Math.ceil(MIB / PROBE_BLOCK.length)).slice(0, MIB);
  for (const size of PROBE_SIZES) {
    yield sample.slice(0, size);
  }
}

function probeTooSlow(regex: RegExp): number | null {
  for (const text of probeTexts()) {
    const budget = Math.max(PROBE_FLOOR_MS, (SLOW_MS * text.length) / MIB);
    // Slow twice: a pause of the page (garbage collection) alone does not condemn a pattern.
    const elapsed = timeMatches(regex, text);
    if (elapsed > budget && timeMatches(regex, text) > budget) {
      return elapsed;
    }
  }
  return null;
}

function timeMatches(regex: RegExp, text: string): number {
  const started = now();
  for (const _ of text.matchAll(regex)) {
    // only the time counts
  }
  return now() - started;
}

function replaceAll(pattern: ICompiled, text: string): [string, number] {
  let out = '';
  let position = 0;
  let count = 0;
  const replacement = marker(pattern.kind);
  for (const match of text.matchAll(pattern.regex)) {
    const group = match.indices?.[1];
    const [start, end] = group ?? [match.index!, match.index! + match[0].length];
    if (start === end) {
      continue;
    }
    out += text.slice(position, start) + replacement;
    position = end;
    count++;
  }
  return count ? [out + text.slice(position), count] : [text, 0];
}

/** Characters before the limit a truncated text may be cut back, to the last whitespace. */
export const TRUNCATION_BACKOFF = 1024;

/**
 * The first `limit` characters of a text being truncated, cut back to the last whitespace within
 * its last `TRUNCATION_BACKOFF` characters: a credential cut in two would match no pattern, and
 * credentials hold no whitespace. As `cut_head` in redact.py.
 */
export function cutHead(text: string, limit: number): string {
  const head = text.slice(0, limit);
  if (text.length <= limit || /[ \t\r\n]/.test(text[limit])) {
    return head;
  }
  const cut = Math.max(
    ...[' ', '\t', '\r', '\n'].map(c => head.lastIndexOf(c)).filter(i => i >= Math.max(0, limit - TRUNCATION_BACKOFF))
  );
  return cut >= 0 ? head.slice(0, cut + 1) : head;
}

/** Replaces credential-looking spans: the defaults plus valid, fast extra patterns. */
export class Redactor {
  /** Why extra patterns were skipped (invalid, too slow), in the order found. */
  readonly problems: string[] = [];

  constructor(extra: readonly unknown[] = [], onProblem: (message: string) => void = () => undefined) {
    this._onProblem = onProblem;
    this._patterns = DEFAULTS.patterns.map(spec => compile(spec, false));
    extra.forEach((spec, index) => {
      const pattern = this._userPattern(index, spec);
      if (pattern) {
        this._patterns.push(pattern);
      }
    });
  }

  /** [kind, pattern] of every pattern in use, defaults first. */
  get patterns(): [string, string][] {
    return this._patterns.map(p => [p.kind, p.regex.source]);
  }

  /** The text with every match replaced, and the number of replacements. */
  redact(text: string): [string, number] {
    let count = 0;
    for (const pattern of [...this._patterns]) {
      const started = pattern.user ? now() : 0;
      const [redacted, found] = replaceAll(pattern, text);
      text = redacted;
      count += found;
      if (pattern.user) {
        const elapsed = now() - started;
        const slow = elapsed > (SLOW_MS * Math.max(text.length, MIB)) / MIB;
        // Slow on two texts in a row: one pause of the page does not condemn a pattern.
        if (slow && !pattern.slowBefore) {
          pattern.slowBefore = true;
        } else if (slow) {
          this._patterns.splice(this._patterns.indexOf(pattern), 1);
          this._problem(
            `redact pattern "${pattern.kind}" took ${elapsed.toFixed(1)} ms on ${text.length} characters ` +
              `(limit ${SLOW_MS} ms per MiB); skipped from now on`
          );
        } else {
          pattern.slowBefore = false;
        }
      }
    }
    return [text, count];
  }

  /** `value` with every string inside (object values, array items) redacted; keys are kept. */
  redactValue<T>(value: T): [T, number] {
    if (typeof value === 'string') {
      return this.redact(value) as [T, number];
    }
    if (Array.isArray(value)) {
      let total = 0;
      const items = value.map(item => {
        const [redacted, count] = this.redactValue(item);
        total += count;
        return redacted;
      });
      return total ? [items as T, total] : [value, 0];
    }
    if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      let total = 0;
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const [redacted, count] = this.redactValue(item);
        copy[key] = redacted;
        total += count;
      }
      return total ? [copy as T, total] : [value, 0];
    }
    return [value, 0];
  }

  private _userPattern(index: number, spec: unknown): ICompiled | null {
    const entry = spec as Partial<IRedactPattern> | null;
    if (!entry || typeof entry !== 'object' || typeof entry.pattern !== 'string') {
      this._problem(`redact pattern #${index + 1} is not {kind, pattern}: ${JSON.stringify(spec)}`);
      return null;
    }
    const kind = entry.kind ?? 'custom';
    if (typeof kind !== 'string' || !KIND.test(kind)) {
      this._problem(`redact pattern #${index + 1}: kind must be 1-40 letters, digits, '_', '.', '-': ${JSON.stringify(kind)}`);
      return null;
    }
    const flags = entry.flags ?? '';
    if (flags !== '' && flags !== 'i') {
      this._problem(`redact pattern "${kind}": flags must be '' or 'i', not ${JSON.stringify(flags)}`);
      return null;
    }
    let compiled: ICompiled;
    try {
      compiled = compile({ kind, pattern: entry.pattern, flags }, true);
    } catch (error) {
      this._problem(`redact pattern "${kind}" is not a valid regular expression (${(error as Error).message}); skipped`);
      return null;
    }
    const slow = probeTooSlow(compiled.regex);
    if (slow !== null) {
      this._problem(
        `redact pattern "${kind}" is too slow (${slow.toFixed(1)} ms on a short sample; the limit is ${SLOW_MS} ms per MiB); skipped`
      );
      return null;
    }
    return compiled;
  }

  private _problem(message: string): void {
    this.problems.push(message);
    this._onProblem(`nbprov: ${message}; the default patterns stay in use`);
  }

  private _onProblem: (message: string) => void;
  private _patterns: ICompiled[];
}
