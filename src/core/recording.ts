/**
 * Whether a notebook is recorded: the `record` and `exclude` settings, the notebook's own choice
 * (`metadata.nbprov.record`) and the sources that opt a notebook in. Pure: the page's glue
 * (`src/tracker.ts`) applies the result.
 */

import { unusableNotebookName } from './identity';

/** `all`: every notebook; `tracked`: notebooks that opted in; `off`: none. */
export type RecordSetting = 'all' | 'tracked' | 'off';

/** What the status bar and the toolbar show for a notebook. */
export type RecordingState = 'recorded' | 'paused' | 'off';

/** The choice stored in a notebook's metadata: `on` (opted in, or switched on), `paused`, or none. */
export type RecordingChoice = 'on' | 'paused' | null;

/**
 * Nothing is recorded until a notebook asks for it: a new user's unrelated notebooks (and the
 * secrets they print) never reach disk, and a notebook that uses nbprov opts in by doing so.
 */
export const DEFAULT_RECORD: RecordSetting = 'tracked';

const RECORD_SETTINGS: readonly RecordSetting[] = ['all', 'tracked', 'off'];

export interface IRecordingSettings {
  record: RecordSetting;
  /** The valid exclude patterns, as given, with their matchers. */
  exclude: { pattern: string; matcher: RegExp }[];
}

/**
 * A glob over `/`-separated server paths: `*` and `?` stay within one path segment, `**` spans
 * segments (`**` + `/` also matches no segment), `[abc]` / `[!abc]` are character classes. A pattern
 * without `/` matches the file name at any depth. Throws an `Error` naming what is wrong.
 */
export function globToRegExp(pattern: string): RegExp {
  if (pattern.trim() === '') {
    throw new Error('the pattern is empty');
  }
  const anchored = pattern.includes('/') ? pattern.replace(/^\//, '') : `**/${pattern}`;
  let out = '';
  for (let i = 0; i < anchored.length; i++) {
    const c = anchored[i];
    if (c === '*') {
      let stars = 1;
      while (anchored[i + stars] === '*') {
        stars++;
      }
      if (stars > 2) {
        throw new Error(`"${'*'.repeat(stars)}" at position ${i + 1}: use * or **`);
      }
      if (stars === 2) {
        const atSegmentStart = i === 0 || anchored[i - 1] === '/';
        const next = anchored[i + 2];
        if (!atSegmentStart || (next !== undefined && next !== '/')) {
          throw new Error(`"**" at position ${i + 1} must be a whole path segment`);
        }
        if (next === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = anchored.indexOf(']', i + 2);
      if (end < 0) {
        throw new Error(`"[" at position ${i + 1} is not closed`);
      }
      let body = anchored.slice(i + 1, end);
      const negated = body.startsWith('!');
      body = (negated ? body.slice(1) : body).replace(/[\\\]^]/g, '\\$&');
      if (body === '' || body.includes('/')) {
        throw new Error(`the class at position ${i + 1} is empty or holds "/"`);
      }
      out += `[${negated ? '^' : ''}${body}]`;
      i = end;
    } else if (c === '\\') {
      throw new Error('"\\" is not allowed: paths are "/"-separated');
    } else {
      out += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`);
}

/**
 * The settings as the page applies them, and a message for each value it could not use. An unknown
 * `record` falls back to the default; an invalid exclude pattern is dropped (the valid ones still apply).
 */
export function parseRecordingSettings(raw: { record?: unknown; exclude?: unknown }): {
  settings: IRecordingSettings;
  errors: string[];
} {
  const errors: string[] = [];
  let record = DEFAULT_RECORD;
  if (raw.record !== undefined) {
    if (RECORD_SETTINGS.includes(raw.record as RecordSetting)) {
      record = raw.record as RecordSetting;
    } else {
      errors.push(
        `record must be one of ${RECORD_SETTINGS.join(', ')}, not ${JSON.stringify(raw.record)}; using "${DEFAULT_RECORD}"`
      );
    }
  }
  const exclude: IRecordingSettings['exclude'] = [];
  if (raw.exclude !== undefined && !Array.isArray(raw.exclude)) {
    errors.push('exclude must be a list of glob patterns; none is used');
  } else {
    for (const pattern of (raw.exclude as unknown[] | undefined) ?? []) {
      if (typeof pattern !== 'string') {
        errors.push(`exclude pattern ${JSON.stringify(pattern)} is not a string; it is ignored`);
        continue;
      }
      try {
        exclude.push({ pattern, matcher: globToRegExp(pattern) });
      } catch (error) {
        errors.push(
          `exclude pattern ${JSON.stringify(pattern)} is not a valid glob (${(error as Error).message}); it is ignored`
        );
      }
    }
  }
  return { settings: { record, exclude }, errors };
}

/** The first exclude pattern matching a server path (no leading `/`), or null. */
export function excludedBy(settings: IRecordingSettings, notebookPath: string): string | null {
  const path = notebookPath.replace(/^\/+/, '');
  return settings.exclude.find(({ matcher }) => matcher.test(path))?.pattern ?? null;
}

/** The choice in a notebook's `metadata.nbprov`, or null. */
export function choiceOfMetadata(metadata: unknown): RecordingChoice {
  const value = typeof metadata === 'object' && metadata !== null ? (metadata as { record?: unknown }).record : undefined;
  return value === 'on' || value === 'paused' ? value : null;
}

/** A notebook's state with the reason, for the user. */
export interface IRecordingDecision {
  state: RecordingState;
  reason: string;
}

/**
 * One notebook's state. `off` in the settings and an exclude pattern win over the notebook's choice;
 * otherwise the choice wins over the setting; without a choice, `all` records and `tracked` waits.
 */
export function decideRecording(settings: IRecordingSettings, notebookPath: string, choice: RecordingChoice): IRecordingDecision {
  const unusable = unusableNotebookName(notebookPath);
  if (unusable !== null) {
    return { state: 'off', reason: unusable };
  }
  if (settings.record === 'off') {
    return { state: 'off', reason: 'recording is off in the settings (record: off)' };
  }
  const pattern = excludedBy(settings, notebookPath);
  if (pattern !== null) {
    return { state: 'off', reason: `the notebook matches the exclude pattern ${pattern}` };
  }
  if (choice === 'paused') {
    return { state: 'paused', reason: 'recording of this notebook was paused' };
  }
  if (choice === 'on') {
    return { state: 'recorded', reason: 'this notebook opted in' };
  }
  return settings.record === 'all'
    ? { state: 'recorded', reason: 'every notebook is recorded (record: all)' }
    : {
        state: 'off',
        reason: 'this notebook has not opted in (record: tracked): use the toggle, %load_ext nbprov or import nbprov'
      };
}

const OPT_IN_LINE =
  /^\s*(?:%(?:re)?load_ext\s+nbprov\s*(?:#.*)?$|import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*nbprov\b|from\s+nbprov(?:\.[\w.]+)?\s+import\b)/;

/** True when a cell's source loads or imports nbprov (a line of its own, not in a string or comment). */
export function optsIn(source: string): boolean {
  return source.split('\n').some(line => OPT_IN_LINE.test(line));
}
