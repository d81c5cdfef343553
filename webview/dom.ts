/** Tiny DOM helpers: elements built in code (no innerHTML, so nothing a record holds can run). */
export interface Props {
  id?: string;
  className?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.id !== undefined) {
    node.id = props.id;
  }
  if (props.className !== undefined) {
    node.className = props.className;
  }
  if (props.text !== undefined) {
    node.textContent = props.text;
  }
  if (props.title !== undefined) {
    node.title = props.title;
  }
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** Writes text only when it changed: a no-op write still costs style and layout work. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/** A section with a heading (and its id for aria-labelledby). */
export function section(id: string, title: string, ...extra: (Node | string)[]): { section: HTMLElement; heading: HTMLHeadingElement } {
  const heading = el('h2', { id: `${id}-title` }, title, ...extra);
  const s = el('section', { id, attrs: { 'aria-labelledby': `${id}-title` } }, heading);
  return { section: s, heading };
}

/** A native button styled like VS Code's, for toolbars that need many small controls. */
export function plainButton(label: string, onClick: () => void, props: Props = {}): HTMLButtonElement {
  const b = el('button', { className: 'plain', ...props, text: label });
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** A segmented control of radio buttons: one tab stop, arrow keys move (native radio behaviour). */
export function segmented<T extends string>(name: string, label: string, options: readonly { value: T; label: string }[], value: T, onChange: (v: T) => void): { element: HTMLElement; set(v: T): void } {
  const inputs = new Map<T, HTMLInputElement>();
  const group = el('div', { className: 'segmented', attrs: { role: 'radiogroup', 'aria-label': label } });
  for (const o of options) {
    const input = el('input', { id: `${name}-${o.value}`, attrs: { type: 'radio', name, value: o.value } });
    input.checked = o.value === value;
    input.addEventListener('change', () => input.checked && onChange(o.value));
    inputs.set(o.value, input);
    group.append(input, el('label', { text: o.label, attrs: { for: input.id } }));
  }
  return {
    element: group,
    set(v) {
      const input = inputs.get(v);
      if (input !== undefined) {
        input.checked = true;
      }
    },
  };
}
