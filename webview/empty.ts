/** What a new user sees before any request: how to route each tool through the proxy. */
import { toolSnippets } from '../src/core/dashboard/connectTools';
import { el } from './dom';
import type { AppState } from './store';
import { createButton } from './toolkit';
import type { Transport } from './transport';

export function createEmptyState(transport: Transport): { element: HTMLElement; render(state: AppState): void } {
  const element = el('section', { id: 'empty-state', className: 'empty', attrs: { 'aria-labelledby': 'empty-title' } });
  let shownFor: string | null = null;
  return {
    element,
    render(state) {
      const url = state.proxy?.url ?? null;
      const key = `${url}`;
      if (shownFor === key) {
        return;
      }
      shownFor = key;
      const list = el('ul', { className: 'tools' });
      for (const t of toolSnippets(url ?? 'http://127.0.0.1:8383')) {
        list.append(el('li', { attrs: { 'data-tool': t.id } }, el('strong', { text: t.label }), el('span', { className: 'muted', text: ` — ${t.where}` }), el('pre', {}, el('code', { text: t.snippet }))));
      }
      const intro =
        url === null
          ? 'Once the proxy is running, point a tool at it and use the tool as usual:'
          : `Point a tool at the proxy on ${url} and use the tool as usual; its requests show up here as they happen.`;
      element.replaceChildren(el('h2', { id: 'empty-title', text: 'No requests yet' }), el('p', { text: intro }));
      if (transport.commands.has('connectTools')) {
        element.append(
          el(
            'p',
            {},
            createButton({ label: 'Connect AI Tools…', onClick: () => transport.send({ type: 'command', command: 'connectTools' }) }),
            el('span', { className: 'muted', text: ' copies the exact setting for a tool. Or set tokenmeter.routeTerminals to route integrated terminals automatically.' }),
          ),
        );
      }
      element.append(list);
    },
  };
}
