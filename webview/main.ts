/**
 * The metrics panel's browser side, in VS Code and in the standalone dashboard alike: messages from
 * the transport update the state and mark sections dirty; sections render at most once per
 * animation frame. The user's view (filters, range, sort, expanded providers) and a small snapshot
 * are saved, so a reloaded panel paints at once and asks for the same view.
 */
import type { HostMessage, PanelView, WebviewMessage } from '../src/protocol';
import { createBreakdown } from './breakdown';
import { createCharts } from './charts';
import { el } from './dom';
import { createEmptyState } from './empty';
import { createHeader } from './header';
import { createLive } from './live';
import { createRecent } from './recent';
import { restore, snapshot } from './persist';
import { createState, isEmpty, reduce, type Part } from './store';
import { createThrottle } from './throttle';
import { registerComponents } from './toolkit';
import { createTransport } from './transport';

const PERSIST_DELAY_MS = 1000;
/** User Timing entries are kept until cleared: a long session keeps only the recent ones. */
const MAX_MEASURES = 1000;
let measures = 0;

const transport = createTransport();
registerComponents();
if (transport.kind === 'browser') {
  // VS Code sets the theme class on a webview's body; a plain page follows the OS setting.
  const dark = window.matchMedia('(prefers-color-scheme: dark)');
  const apply = (): void => {
    document.body.classList.toggle('vscode-dark', dark.matches);
    document.body.classList.toggle('vscode-light', !dark.matches);
  };
  apply();
  dark.addEventListener('change', apply);
}

const restored = restore(transport.load());
const state = createState(restored.prefs);
Object.assign(state, restored.snapshot);

const view = (): PanelView => state.prefs.view;
const sendView = (): void => {
  transport.send({ type: 'view', view: view() } satisfies WebviewMessage);
  persistSoon();
};
const dirty = new Set<Part>();
let frame = 0;
const mark = (...parts: Part[]): void => {
  parts.forEach((p) => dirty.add(p));
  frame ||= requestAnimationFrame(flush);
};

const header = createHeader(transport);
const empty = createEmptyState(transport);
const live = createLive();
const charts = createCharts((range) => {
  state.prefs.view.range = range;
  sendView();
});
const breakdown = createBreakdown(state.prefs, { onQuery: sendView, onPrefs: () => (mark('breakdown'), persistSoon()) });
const throttle = createThrottle();
const recent = createRecent(state.prefs, () => (mark('recent'), persistSoon()));
charts.setRange(state.prefs.view.range);
breakdown.sync();
// Before the session's first request only the guide and the charts show (the charts can still
// have history: "Today", "Last 7 days").
const sessionSections = [live.element, breakdown.element, throttle.element, recent.element];
document.body.append(el('main', {}, header.element, empty.element, live.element, charts.element, breakdown.element, throttle.element, recent.element));

function flush(): void {
  frame = 0;
  const none = isEmpty(state);
  empty.element.hidden = !none;
  for (const s of sessionSections) {
    s.hidden = none;
  }
  if (dirty.has('header')) {
    header.render(state);
  }
  if (none) {
    empty.render(state);
  }
  // Hidden sections are brought up to date when they show again (dirty stays set).
  const renderers: [Part, (s: typeof state) => void, boolean][] = [
    ['active', live.render, !none],
    ['series', charts.render, true],
    ['breakdown', breakdown.render, !none],
    ['throttle', throttle.render, !none],
    ['recent', recent.render, !none],
  ];
  for (const [part, render, shown] of renderers) {
    if (dirty.has(part) && shown) {
      // User Timing per section: visible in DevTools' performance panel, read by the e2e.
      const start = performance.now();
      render(state);
      performance.measure(`tokenmeter:render:${part}`, { start });
      if (++measures > MAX_MEASURES) {
        measures = 0;
        performance.clearMeasures();
      }
      dirty.delete(part);
    }
  }
  dirty.delete('header');
}

let persistTimer = 0;
function persistSoon(): void {
  if (persistTimer === 0) {
    persistTimer = window.setTimeout(() => {
      persistTimer = 0;
      transport.save(snapshot(state));
    }, PERSIST_DELAY_MS);
  }
}

transport.listen((msg: HostMessage) => {
  mark(...reduce(state, msg));
  if (msg.type === 'state' || msg.type === 'completed' || msg.type === 'proxy') {
    persistSoon();
  }
});

// Paint at once (restored or empty) so the panel never flashes blank, then ask for fresh state.
mark('header', 'active', 'recent', 'breakdown', 'throttle', 'series');
flush();
transport.send({ type: 'ready', view: view() } satisfies WebviewMessage);
