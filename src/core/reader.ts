/**
 * Reading journals: bytes or text in, validated records out, one line at a time.
 *
 * Tolerant by design (ARCHITECTURE.md, "The journal"): a line that does not parse or fails the
 * validator becomes a warning and loses only itself; a truncated last line (a kernel killed mid
 * write) is reported as such; bytes that are not UTF-8 are replaced, with a warning naming the file
 * and line. A file is never held as one string: `JournalLineReader` takes it in chunks of any size
 * (a Node stream, a Contents API response) and keeps only the current partial line.
 */

import { applyRecord, type IModel } from './model';
import { type JournalRecord, RecordError, validateRecord } from './records';

export interface IJournalFile {
  /** File name inside `journal/`, e.g. `k-<session>.jsonl`. */
  name: string;
  text: string;
}

/**
 * A journal file read as a stream of chunks (the CLI: a file read stream; never the whole file in
 * one string). `read` is called once, when the file's turn to be folded comes.
 */
export interface IJournalStream {
  name: string;
  read(): AsyncIterable<Uint8Array | string>;
}

/** A journal file as text (the page: the Contents API returns whole files) or as a stream. */
export type JournalSource = IJournalFile | IJournalStream;

export interface IJournalWarning {
  file: string;
  /** 1-based line number. */
  line: number;
  reason: string;
}

/** A record with where it came from (file and 1-based line). */
export interface ILocatedRecord {
  file: string;
  line: number;
  record: JournalRecord;
}

export interface IParsedJournal {
  records: ILocatedRecord[];
  warnings: IJournalWarning[];
}

const NEWLINE = 0x0a;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

/**
 * Splits a file into lines as its chunks arrive (bytes, checked as UTF-8 line by line, or text
 * already decoded), keeping only the current partial line; lines are numbered from 1. A line whose
 * bytes are not UTF-8 is passed on with U+FFFD in their place, after `onNotUtf8` names it. Call
 * `end()` after the last chunk: a last line without its newline is passed on with `last` set.
 */
export class LineSplitter {
  constructor(
    private readonly _onLine: (text: string, line: number, last: boolean) => void,
    private readonly _onNotUtf8: (line: number) => void = () => undefined
  ) {}

  push(chunk: Uint8Array | string): void {
    if (typeof chunk === 'string') {
      this._pushText(chunk);
      return;
    }
    let start = 0;
    for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, start)) {
      this._lineBytes(this._joinPartial(chunk.subarray(start, at)));
      start = at + 1;
    }
    if (start < chunk.length) {
      this._partialBytes.push(chunk.slice(start));
    }
  }

  end(): void {
    if (this._partialText !== '') {
      this._onLine(this._partialText, ++this._line, true);
      this._partialText = '';
    } else if (this._partialBytes.length) {
      this._lineBytes(this._joinPartial(new Uint8Array(0)), true);
    }
  }

  private _pushText(chunk: string): void {
    let start = 0;
    for (let at = chunk.indexOf('\n'); at >= 0; at = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, at);
      const text = this._partialText === '' ? piece : this._partialText + piece;
      this._partialText = '';
      this._onLine(text, ++this._line, false);
      start = at + 1;
    }
    if (start < chunk.length) {
      this._partialText += chunk.slice(start);
    }
  }

  private _joinPartial(tail: Uint8Array): Uint8Array {
    const parts = [...this._partialBytes, tail];
    this._partialBytes = [];
    return concatBytes(parts);
  }

  private _lineBytes(bytes: Uint8Array, last = false): void {
    const line = ++this._line;
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      text = lenientUtf8.decode(bytes);
      this._onNotUtf8(line);
    }
    this._onLine(text, line, last);
  }

  private _line = 0;
  private _partialBytes: Uint8Array[] = [];
  private _partialText = '';
}

/**
 * Splits one journal file into lines as its chunks arrive and hands each validated record to
 * `onRecord`, each skipped line to `onWarning`, and each record of a type this reader does not
 * know (skipped silently: newer writers) to `onUnknown`. Call `end()` after the last chunk.
 */
export class JournalLineReader {
  constructor(
    readonly file: string,
    private readonly _onRecord: (located: ILocatedRecord) => void,
    private readonly _onWarning: (warning: IJournalWarning) => void,
    private readonly _onUnknown: (line: number, type: string) => void = () => undefined
  ) {
    this._lines = new LineSplitter(
      (text, line, last) => this._handle(text, line, last),
      line => this._onWarning({ file: this.file, line, reason: 'bytes that are not UTF-8 were replaced with U+FFFD' })
    );
  }

  /** Takes the next chunk: bytes (checked as UTF-8 line by line) or text already decoded. */
  push(chunk: Uint8Array | string): void {
    this._lines.push(chunk);
  }

  /** Ends the file: a last line without its newline is parsed, or reported as truncated. */
  end(): void {
    this._lines.end();
  }

  private _handle(raw: string, line: number, last: boolean): void {
    const text = raw.trim();
    if (text === '') {
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this._onWarning({
        file: this.file,
        line,
        reason: last ? 'truncated last line' : `invalid JSON: ${(error as Error).message}`
      });
      return;
    }
    let record: JournalRecord | null;
    try {
      record = validateRecord(parsed);
    } catch (error) {
      if (!(error instanceof RecordError)) {
        throw error;
      }
      this._onWarning({ file: this.file, line, reason: error.message });
      return;
    }
    if (record !== null) {
      this._onRecord({ file: this.file, line, record });
    } else {
      this._onUnknown(line, (parsed as { type: string }).type);
    }
  }

  private readonly _lines: LineSplitter;
}

/** Byte arrays one after another (a single one as it is). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) {
    return parts[0];
  }
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/** A journal source's chunks: a text as one chunk, a stream's as they are read. */
export async function* chunksOf(source: JournalSource): AsyncIterable<Uint8Array | string> {
  if ('text' in source) {
    yield source.text;
  } else {
    yield* source.read();
  }
}

/** Journal file names in the order they are folded (name order: the result does not depend on listing order). */
export function sortJournalNames<T extends { name: string } | string>(files: readonly T[]): T[] {
  const nameOf = (file: T): string => (typeof file === 'string' ? file : file.name);
  return [...files].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
}

/** Reads one journal file's text; every line that fails yields one warning and nothing else is lost. */
export function readJournalText(
  file: IJournalFile,
  onRecord: (located: ILocatedRecord) => void,
  onWarning: (warning: IJournalWarning) => void
): void {
  const reader = new JournalLineReader(file.name, onRecord, onWarning);
  reader.push(file.text);
  reader.end();
}

/** Parses journal files (in name order) into located records, for callers that need them all. */
export function parseJournal(files: IJournalFile[]): IParsedJournal {
  const records: ILocatedRecord[] = [];
  const warnings: IJournalWarning[] = [];
  for (const file of sortJournalNames(files)) {
    readJournalText(
      file,
      located => records.push(located),
      warning => warnings.push(warning)
    );
  }
  return { records, warnings };
}

/** Parses one journal file. */
export function parseJournalFile(file: IJournalFile): IParsedJournal {
  return parseJournal([file]);
}

/**
 * Folds journal files into a model, file by file in name order and line by line as each file's
 * chunks arrive: the memory a file costs is its current line, not its size. `afterChunk` is
 * awaited after each chunk (the export: until the model's series sink has stored what it took).
 */
export async function foldJournals<S>(
  model: IModel<S>,
  sources: readonly JournalSource[],
  afterChunk: () => Promise<void> = async () => undefined
): Promise<void> {
  for (const source of sortJournalNames(sources)) {
    const reader = new JournalLineReader(
      source.name,
      located => applyRecord(model, located),
      warning => model.warnings.push(warning)
    );
    for await (const chunk of chunksOf(source)) {
      reader.push(chunk);
      await afterChunk();
    }
    reader.end();
  }
}
