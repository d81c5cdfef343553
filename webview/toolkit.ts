/**
 * The one seam to the component library. @vscode/webview-ui-toolkit is deprecated upstream, so the
 * rest of the webview asks this module for elements by role and never names a toolkit symbol or
 * tag: swapping the library (or dropping it for plain elements) touches this file only.
 */
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeProgressRing,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements; idempotent because a second `define` of a tag throws. */
export function registerComponents(): void {
  if (registered) {
    return;
  }
  registered = true;
  // Register only what is used: the toolkit is side-effect free, so the rest is tree-shaken away.
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeProgressRing());
}

export interface ButtonOptions {
  id?: string;
  label: string;
  /** Accessible name and tooltip when the label alone is not enough. */
  title?: string;
  secondary?: boolean;
  onClick: () => void;
}

export function createButton(options: ButtonOptions): HTMLElement {
  const button = document.createElement('vscode-button');
  if (options.id !== undefined) {
    button.id = options.id;
  }
  button.textContent = options.label;
  if (options.title !== undefined) {
    button.title = options.title;
    button.setAttribute('aria-label', options.title);
  }
  if (options.secondary === true) {
    button.setAttribute('appearance', 'secondary');
  }
  button.addEventListener('click', () => {
    if (!isButtonDisabled(button)) {
      options.onClick();
    }
  });
  return button;
}

export function setButtonDisabled(button: HTMLElement, disabled: boolean): void {
  button.toggleAttribute('disabled', disabled);
}

function isButtonDisabled(button: HTMLElement): boolean {
  return button.hasAttribute('disabled');
}

/**
 * A small pill with a count or a state word. Not the toolkit's badge: its template binds a `style`
 * attribute, which our CSP (no 'unsafe-inline') reports as a violation every time one renders.
 */
export function createBadge(text: string, id?: string): HTMLElement {
  const badge = document.createElement('span');
  badge.className = 'badge';
  if (id !== undefined) {
    badge.id = id;
  }
  badge.textContent = text;
  return badge;
}

export function setBadgeText(badge: HTMLElement, text: string): void {
  if (badge.textContent !== text) {
    badge.textContent = text;
  }
}

/** An indeterminate spinner, for "something is in flight". */
export function createSpinner(label: string): HTMLElement {
  const ring = document.createElement('vscode-progress-ring');
  ring.setAttribute('aria-label', label);
  return ring;
}
