import { IOutputItem } from './records';
import { cutHead, Redactor } from './redact';
import { sha256Bytes, sha256Hex } from './sha256';

/**
 * Reduces a cell's nbformat outputs to journal items: text kept up to a limit (the whole text hashed),
 * binary data moved to content-addressed blobs. Pure: no JupyterLab imports.
 */

/** Text beyond this many characters is truncated in the journal (its full content is hashed). */
export const TEXT_LIMIT = 64 * 1024;

/** Binary content to store under `blobs/`. */
export interface IBlob {
  path: string;
  bytes: Uint8Array;
}

/** The minimal nbformat output shape read here. */
export interface INbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

const encoder = new TextEncoder();

/** Whether a MIME type's nbformat payload is text (otherwise it is base64 of binary data). */
export function isTextMime(mime: string): boolean {
  return (
    mime.startsWith('text/') ||
    mime === 'application/json' ||
    mime.endsWith('+json') ||
    mime === 'image/svg+xml' ||
    mime === 'application/javascript'
  );
}

function joinText(text: unknown): string {
  if (Array.isArray(text)) {
    return text.join('');
  }
  if (typeof text === 'string') {
    return text;
  }
  return JSON.stringify(text ?? null);
}

/** Hash and size describe the output as produced; the text kept is redacted, then truncated. */
function redactedTextItem(
  base: { output_type: string; name?: string; mime?: string },
  text: string,
  redactor: Redactor | null,
  counter: { redacted: number }
): IOutputItem {
  const [kept, redacted] = redactor ? redactor.redact(text) : [text, 0];
  counter.redacted += redacted;
  const truncated = kept.length > TEXT_LIMIT;
  return {
    ...base,
    text: truncated ? cutHead(kept, TEXT_LIMIT) : kept,
    truncated,
    sha256: sha256Hex(text),
    size: encoder.encode(text).length
  };
}

function decodeBase64(data: string): Uint8Array {
  const binary = atob(data.replace(/\s+/g, ''));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

/**
 * Journal items and blobs for a cell's outputs; with a redactor, texts are redacted in full before
 * they are truncated (`redacted` counts the replacements).
 */
export function summarizeOutputs(
  outputs: readonly INbOutput[],
  redactor: Redactor | null = null
): {
  items: IOutputItem[];
  blobs: IBlob[];
  redacted: number;
} {
  const items: IOutputItem[] = [];
  const blobs: IBlob[] = [];
  const counter = { redacted: 0 };
  const textItem = (base: { output_type: string; name?: string; mime?: string }, text: string): IOutputItem =>
    redactedTextItem(base, text, redactor, counter);
  for (const output of outputs) {
    const type = output.output_type;
    if (type === 'stream') {
      items.push(textItem({ output_type: type, name: output.name }, joinText(output.text)));
    } else if (type === 'error') {
      const text = [`${output.ename}: ${output.evalue}`, ...(output.traceback ?? [])].join('\n');
      items.push(textItem({ output_type: type, name: output.ename }, text));
    } else {
      for (const [mime, payload] of Object.entries(output.data ?? {})) {
        if (isTextMime(mime)) {
          items.push(textItem({ output_type: type, mime }, joinText(payload)));
          continue;
        }
        let bytes: Uint8Array;
        try {
          bytes = decodeBase64(joinText(payload));
        } catch {
          // Not base64 after all: keep it as text rather than lose it.
          items.push(textItem({ output_type: type, mime }, joinText(payload)));
          continue;
        }
        const sha256 = sha256Bytes(bytes);
        const path = `blobs/${sha256}`;
        blobs.push({ path, bytes });
        items.push({ output_type: type, mime, truncated: false, sha256, size: bytes.length, blob: sha256 });
      }
    }
  }
  return { items, blobs, redacted: counter.redacted };
}
