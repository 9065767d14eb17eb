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
  ) {}

  /** Takes the next chunk: bytes (checked as UTF-8 line by line) or text already decoded. */
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

  /** Ends the file: a last line without its newline is parsed, or reported as truncated. */
  end(): void {
    if (this._partialText !== '') {
      this._handle(this._partialText, true);
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
      this._handle(text, false);
      start = at + 1;
    }
    if (start < chunk.length) {
      this._partialText += chunk.slice(start);
    }
  }

  private _joinPartial(tail: Uint8Array): Uint8Array {
    if (this._partialBytes.length === 0) {
      return tail;
    }
    const parts = [...this._partialBytes, tail];
    this._partialBytes = [];
    const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    return joined;
  }

  private _lineBytes(bytes: Uint8Array, last = false): void {
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      text = lenientUtf8.decode(bytes);
      this._onWarning({
        file: this.file,
        line: this._line + 1,
        reason: 'bytes that are not UTF-8 were replaced with U+FFFD'
      });
    }
    this._handle(text, last);
  }

  private _handle(raw: string, last: boolean): void {
    const line = ++this._line;
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

  private _line = 0;
  private _partialBytes: Uint8Array[] = [];
  private _partialText = '';
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
 * chunks arrive: the memory a file costs is its current line, not its size.
 */
export async function foldJournals<S>(model: IModel<S>, sources: readonly JournalSource[]): Promise<void> {
  for (const source of sortJournalNames(sources)) {
    const reader = new JournalLineReader(
      source.name,
      located => applyRecord(model, located),
      warning => model.warnings.push(warning)
    );
    if ('text' in source) {
      reader.push(source.text);
    } else {
      for await (const chunk of source.read()) {
        reader.push(chunk);
      }
    }
    reader.end();
  }
}
