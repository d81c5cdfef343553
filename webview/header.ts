/** The header: proxy state and URL (copy), the live numbers, and the host commands on offer. */
import type { PanelCommand } from '../src/protocol';
import { el, setText } from './dom';
import { compact, DASH, int, rate } from './format';
import type { AppState } from './store';
import { createBadge, createButton, setBadgeText, setButtonDisabled } from './toolkit';
import type { Transport } from './transport';

export interface Header {
  element: HTMLElement;
  render(state: AppState): void;
}

function stat(id: string, label: string): { wrap: HTMLElement; value: HTMLElement; note: HTMLElement } {
  const value = el('dd', { id, text: DASH });
  const note = el('span', { className: 'note' });
  return { wrap: el('div', { className: 'stat' }, el('dt', { text: label }), value, note), value, note };
}

export function createHeader(transport: Transport): Header {
  const send = (command: PanelCommand) => () => transport.send({ type: 'command', command });
  const can = (c: PanelCommand): boolean => transport.commands.has(c);
  const proxyState = createBadge(DASH, 'proxy-state');
  const proxyUrl = el('code', { id: 'proxy-url', text: DASH });
  const copied = el('span', { className: 'muted', attrs: { role: 'status' } });
  const copy = createButton({
    id: 'copy-url',
    label: 'Copy',
    title: 'Copy proxy URL',
    secondary: true,
    onClick: () => {
      transport.send({ type: 'copyProxyUrl' });
      if (transport.kind === 'browser') {
        copied.textContent = 'Copied';
        window.setTimeout(() => (copied.textContent = ''), 1500);
      }
    },
  });
  const start = createButton({ id: 'start-proxy', label: 'Start', title: 'Start the proxy', secondary: true, onClick: send('startProxy') });
  const restart = createButton({ id: 'restart-proxy', label: 'Restart', title: 'Restart the proxy', secondary: true, onClick: send('restartProxy') });
  const actions = el('div', { className: 'actions' });
  if (can('connectTools')) {
    actions.append(createButton({ id: 'connect-tools', label: 'Connect AI Tools…', onClick: send('connectTools') }));
  }
  if (can('exportMetrics')) {
    actions.append(createButton({ id: 'export', label: 'Export…', secondary: true, onClick: send('exportMetrics') }));
  }
  if (can('resetSession')) {
    actions.append(createButton({ id: 'reset-session', label: 'Reset Session', title: 'Reset session metrics', secondary: true, onClick: send('resetSession') }));
  }
  const message = el('p', { id: 'proxy-message', className: 'muted' });
  const live = stat('stat-live', 'Tokens/s');
  const active = stat('stat-active', 'Active requests');
  const tokens = stat('stat-tokens', 'Session tokens');
  const requests = stat('stat-requests', 'Requests');
  const errors = stat('stat-errors', 'Errors');
  const proxy = el('div', { className: 'proxy' }, el('span', { text: 'Proxy' }), proxyState, proxyUrl, copy, copied);
  if (can('startProxy')) {
    proxy.append(start, restart);
  }
  const element = el(
    'header',
    {},
    el('div', { className: 'title-row' }, el('h1', { text: 'Tokenmeter' }), proxy, actions),
    message,
    el('dl', { className: 'stats', attrs: { 'aria-label': 'Session numbers' } }, live.wrap, active.wrap, tokens.wrap, requests.wrap, errors.wrap),
  );

  return {
    element,
    render(state) {
      const p = state.proxy;
      const s = p?.state ?? 'unknown';
      setBadgeText(proxyState, p === null ? DASH : s);
      proxyState.dataset.state = s;
      setText(proxyUrl, p?.url ?? DASH);
      setButtonDisabled(copy, (p?.url ?? null) === null);
      start.hidden = s !== 'stopped' && s !== 'error';
      restart.hidden = s !== 'running';
      setText(message, p?.message ?? '');
      message.hidden = (p?.message ?? null) === null;

      const a = state.active;
      if (a.length > 0) {
        const known = a.filter((x) => x.outputTokensPerSecond !== null);
        setText(live.value, known.length > 0 ? rate(known.reduce((sum, x) => sum + (x.outputTokensPerSecond ?? 0), 0)) : DASH);
        setText(live.note, a.length > 1 ? `${a.length} streams` : 'live');
      } else {
        setText(live.value, rate(state.recent[0]?.outputTokensPerSecond ?? null));
        setText(live.note, state.recent.length > 0 ? 'last request' : '');
      }
      setText(active.value, int(a.length));
      const ses = state.session;
      setText(tokens.value, ses === null ? DASH : compact(ses.inputTokens + ses.outputTokens));
      setText(tokens.note, ses === null ? '' : `${compact(ses.cacheReadTokens + ses.cacheCreationTokens)} cache`);
      tokens.wrap.title = ses === null ? '' : `${int(ses.inputTokens)} input + ${int(ses.outputTokens)} output tokens; cache: ${int(ses.cacheReadTokens)} read, ${int(ses.cacheCreationTokens)} written`;
      setText(requests.value, int(ses?.requests ?? null));
      setText(errors.value, int(ses?.errors ?? null));
      errors.wrap.classList.toggle('bad', (ses?.errors ?? 0) > 0);
    },
  };
}
