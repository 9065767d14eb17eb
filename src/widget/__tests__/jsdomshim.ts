/**
 * What jest's jsdom environment lacks and the widget's libraries use, defined as browsers have them
 * (imported before them): `DragEvent`, which @lumino/dragdrop extends at module load,
 * `structuredClone`, which vega-lite takes at module load, `TextEncoder`, with which the
 * reducer hashes code states, and `ResizeObserver`, through which the view follows its width (jsdom
 * lays nothing out, so it never reports).
 */
import { TextEncoder as NodeTextEncoder } from 'util';
import { deserialize, serialize } from 'v8';

if (typeof globalThis.DragEvent === 'undefined') {
  class DragEventShim extends MouseEvent {
    readonly dataTransfer: DataTransfer | null = null;
  }
  (globalThis as { DragEvent?: unknown }).DragEvent = DragEventShim;
}
if (typeof globalThis.TextEncoder === 'undefined') {
  globalThis.TextEncoder = NodeTextEncoder as typeof globalThis.TextEncoder;
}
if (typeof globalThis.ResizeObserver === 'undefined') {
  class SilentResizeObserver {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  }
  (globalThis as { ResizeObserver?: unknown }).ResizeObserver = SilentResizeObserver;
}
if (typeof globalThis.structuredClone === 'undefined') {
  globalThis.structuredClone = <T>(value: T): T => deserialize(serialize(value));
}

/**
 * jsdom has no canvas drawing (`getContext` returns null without the native `canvas` package), and
 * Vega draws the charts on a canvas: a 2D context that keeps the properties set on it and draws
 * nothing lets the real Vega views run. Nothing here checks pixels; the charts' text (legend, note,
 * aria-label) is DOM.
 */
function silentContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const state: Record<string | symbol, unknown> = { canvas };
  const gradient = { addColorStop: () => undefined };
  const methods: Record<string, (...args: unknown[]) => unknown> = {
    measureText: (text: unknown) => ({ width: String(text).length * 6 }),
    createLinearGradient: () => gradient,
    createRadialGradient: () => gradient,
    createPattern: () => gradient,
    getLineDash: () => [],
    isPointInPath: () => false,
    isPointInStroke: () => false
  };
  return new Proxy(state, {
    get: (target, name) => (name in target ? target[name] : (methods[name as string] ?? (() => undefined))),
    set: (target, name, value) => {
      target[name] = value;
      return true;
    }
  }) as unknown as CanvasRenderingContext2D;
}
HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, kind: string) {
  return kind === '2d' ? silentContext(this) : null;
} as typeof HTMLCanvasElement.prototype.getContext;

// `CSS.escape` (the view finds its rows by data attributes): every character but [\w-] escaped.
if (typeof globalThis.CSS === 'undefined') {
  (globalThis as { CSS?: unknown }).CSS = { escape: (value: string) => value.replace(/[^\w-]/g, match => `\\${match}`) };
}

// jsdom lays nothing out, so there is nothing to scroll to.
if (typeof Element.prototype.scrollIntoView !== 'function') {
  Element.prototype.scrollIntoView = () => undefined;
}
