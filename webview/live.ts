/** Live streams: one row per in-flight request, refreshed with the host's 4-a-second ticks. */
import type { ActiveView } from '../src/protocol';
import { el, section } from './dom';
import { int, ms, rate } from './format';
import type { AppState } from './store';
import { createTable, reconcile, type Column } from './table';
import { createBadge, createSpinner, setBadgeText } from './toolkit';

const SVG = 'http://www.w3.org/2000/svg';
const W = 80;
const H = 18;

const columns: Column<ActiveView>[] = [
  { head: 'Provider / model', cell: (a) => `${a.provider}/${a.model}` },
  { head: 'Stream', cell: (a) => (a.streaming ? 'yes' : 'no') },
  { head: 'Elapsed', numeric: true, cell: (a) => ms(a.elapsedMs) },
  { head: 'TTFT', numeric: true, cell: (a) => ms(a.ttftMs) },
  { head: 'Tokens/s', numeric: true, cell: (a) => rate(a.outputTokensPerSecond) },
  { head: 'Tokens so far', numeric: true, cell: (a) => int(a.outputTokens) },
];

/** A polyline of the last samples, scaled to the largest; its colour comes from the CSS. */
function sparkline(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('aria-hidden', 'true');
  svg.append(document.createElementNS(SVG, 'polyline'));
  return svg;
}

function drawSpark(svg: SVGSVGElement, samples: readonly number[]): void {
  const line = svg.firstElementChild as SVGPolylineElement;
  const max = Math.max(1, ...samples);
  const step = samples.length > 1 ? W / (samples.length - 1) : 0;
  line.setAttribute('points', samples.map((v, i) => `${(i * step).toFixed(1)},${(H - 1 - (v / max) * (H - 2)).toFixed(1)}`).join(' '));
}

export function createLive(): { element: HTMLElement; render(state: AppState): void } {
  const count = createBadge('0', 'active-count');
  const spinner = createSpinner('Requests in flight');
  const { section: element } = section('active', 'Live streams ', count, spinner);
  const none = el('p', { className: 'muted', text: 'Nothing in flight.' });
  const cols = [...columns, { head: 'Trend', cell: () => '' }];
  const { table, body } = createTable(cols, 'active-rows', 'Requests in flight');
  element.append(none, el('div', { className: 'scroll' }, table));

  return {
    element,
    render(state) {
      const active = state.active;
      reconcile(
        body,
        active,
        cols,
        (a) => el('tr', { attrs: { 'data-id': a.id, 'data-provider': a.provider, 'data-model': a.model } }),
        true,
        (row, a) => {
          const cell = row.cells[cols.length - 1];
          let svg = cell.firstElementChild as SVGSVGElement | null;
          if (svg === null) {
            svg = sparkline();
            cell.append(svg);
          }
          drawSpark(svg, state.sparks.get(a.id) ?? []);
        },
      );
      setBadgeText(count, String(active.length));
      none.hidden = active.length > 0;
      table.hidden = active.length === 0;
      spinner.hidden = active.length === 0;
    },
  };
}
