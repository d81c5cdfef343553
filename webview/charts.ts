/**
 * Tokens/s and TTFT over time per provider/model, drawn by uPlot. Line colours are read from the
 * theme's `--vscode-charts-*` variables (a canvas cannot use CSS variables directly) and re-read
 * when the theme changes. uPlot's stylesheet is bundled as a file (main.css), so the strict CSP
 * holds: uPlot itself only sets styles through the CSSOM.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartRange, SeriesView } from '../src/protocol';
import { el, section } from './dom';
import { ms, rate } from './format';
import type { AppState } from './store';

const PALETTE = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'].map((c) => `--vscode-charts-${c}`);
const RANGES: { value: ChartRange; label: string }[] = [
  { value: '15m', label: 'Last 15 minutes' },
  { value: 'session', label: 'This session' },
  { value: 'today', label: 'Today' },
  { value: '7d', label: 'Last 7 days' },
];
const HEIGHT = 180;

function cssVar(name: string, fallback = ''): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

interface Chart {
  box: HTMLElement;
  summary: HTMLElement;
  plot: uPlot | undefined;
  keys: string;
}

function options(title: string, keys: string[], width: number, format: (v: number) => string): uPlot.Options {
  const fg = cssVar('--vscode-descriptionForeground', cssVar('--vscode-foreground', 'gray'));
  const grid = cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', 'gray'));
  const font = `11px ${cssVar('--vscode-font-family', 'sans-serif')}`;
  const axis = { stroke: fg, font, grid: { stroke: grid, width: 0.5 }, ticks: { stroke: grid, width: 0.5 } };
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    series: [
      { label: 'Time' },
      ...keys.map((key, i) => {
        // Past the palette, the same hues come back dashed so lines stay tellable apart.
        const stroke = cssVar(PALETTE[i % PALETTE.length], fg);
        return { label: key, stroke, width: 1.5, dash: i >= PALETTE.length ? [4, 3] : undefined, spanGaps: false, points: { show: true, size: 4, fill: stroke }, value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)) };
      }),
    ],
    axes: [axis, { ...axis, size: 56, label: title, labelFont: font, values: (_u, vals) => vals.map((v) => format(v)) }],
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false } },
  };
}

export function createCharts(onRange: (range: ChartRange) => void): { element: HTMLElement; render(state: AppState): void; setRange(r: ChartRange): void } {
  const select = el('select', { id: 'chart-range', attrs: { 'aria-label': 'Chart time range' } }, ...RANGES.map((r) => el('option', { text: r.label, attrs: { value: r.value } })));
  select.addEventListener('change', () => onRange(select.value as ChartRange));
  const { section: element } = section('charts', 'Speed over time');
  const note = el('p', { className: 'muted', id: 'chart-note' });
  const make = (id: string, label: string): Chart => {
    const box = el('div', { id, className: 'chart', attrs: { role: 'img', 'aria-label': label } });
    return { box, summary: el('p', { className: 'visually-hidden' }), plot: undefined, keys: '' };
  };
  const tps = make('chart-tps', 'Tokens per second over time, per provider and model');
  const ttft = make('chart-ttft', 'Time to first token over time, per provider and model');
  const figure = (c: Chart, title: string): HTMLElement => el('figure', {}, el('figcaption', { text: title }), c.box, c.summary);
  const figures = el('div', { className: 'charts' }, figure(tps, 'Output tokens/s (mean per interval)'), figure(ttft, 'Time to first token (mean per interval)'));
  element.append(el('div', { className: 'toolbar' }, el('label', { text: 'Range ', attrs: { for: 'chart-range' } }), select), note, figures);

  let last: SeriesView | null = null;
  /** What was last drawn: an update with the same numbers redraws nothing. */
  let drawn = '';
  /** Charts scrolled out of view are not drawn; they catch up when they come back. */
  let inView = true;
  let next = 0;
  const draw = (c: Chart, s: SeriesView, pick: 'tokensPerSecond' | 'ttftMs', format: (v: number) => string, title: string): void => {
    const width = c.box.clientWidth;
    const keys = s.series.map((x) => x.key);
    const data: uPlot.AlignedData = [s.x, ...s.series.map((x) => x[pick])];
    if (width === 0) {
      return; // hidden: drawn when it becomes visible (the resize observer calls back)
    }
    if (c.plot === undefined || c.keys !== keys.join('\n')) {
      c.plot?.destroy();
      c.plot = new uPlot(options(title, keys, width, format), data, c.box);
      c.keys = keys.join('\n');
    } else {
      c.plot.setData(data);
    }
    c.summary.textContent = s.series
      .map((x) => {
        const known = x[pick].filter((v): v is number => v !== null);
        return `${x.key}: ${known.length === 0 ? 'no data' : `mean ${format(known.reduce((a, b) => a + b, 0) / known.length)}`}`;
      })
      .join('; ');
  };
  const renderAll = (force = false): void => {
    const s = last;
    if (s === null || !inView) {
      return;
    }
    const key = JSON.stringify(s);
    if (key === drawn && !force) {
      return;
    }
    drawn = key;
    const empty = !s.available || s.series.length === 0;
    note.textContent = !s.available
      ? 'History is not kept in this run, so only "Last 15 minutes" and "This session" have data.'
      : s.series.length === 0
        ? 'No requests in this range yet.'
        : s.omitted > 0
          ? `The ${s.series.length} busiest provider/models are drawn; ${s.omitted} more are in the breakdown below.`
          : '';
    note.hidden = note.textContent === '';
    figures.hidden = empty;
    if (!empty) {
      draw(tps, s, 'tokensPerSecond', rate, 'tok/s');
      draw(ttft, s, 'ttftMs', ms, 'TTFT');
    }
  };
  const rebuild = (): void => {
    for (const c of [tps, ttft]) {
      c.plot?.destroy();
      c.plot = undefined;
    }
    renderAll(true);
  };
  // Widths follow the panel; colours follow the theme (VS Code swaps the body's class).
  new ResizeObserver(() => {
    for (const c of [tps, ttft]) {
      if (c.plot !== undefined && c.box.clientWidth > 0 && c.box.clientWidth !== c.plot.width) {
        c.plot.setSize({ width: c.box.clientWidth, height: HEIGHT });
      } else if (c.plot === undefined && c.box.clientWidth > 0) {
        renderAll(true);
      }
    }
  }).observe(element);
  new IntersectionObserver(([entry]) => {
    inView = entry.isIntersecting;
    renderAll();
  }).observe(element);
  new MutationObserver(rebuild).observe(document.body, { attributes: true, attributeFilter: ['class'] });

  return {
    element,
    render(state) {
      last = state.series;
      // Drawn in the next frame: an update that also brings the breakdown keeps each frame short.
      next ||= requestAnimationFrame(() => {
        next = 0;
        const start = performance.now();
        renderAll();
        performance.measure('tokenmeter:render:charts', { start });
      });
    },
    setRange(r) {
      select.value = r;
    },
  };
}
