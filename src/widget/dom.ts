/** DOM helpers of the widget's views. User strings only ever go in textContent. */

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A select's option: `text` shown, `value` chosen. */
export function option(value: string, text: string): HTMLOptionElement {
  const node = element('option', undefined, text);
  node.value = value;
  return node;
}
