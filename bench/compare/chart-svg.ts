// The results chart as hand-written SVG: msgs/s against connections (log scale), one line
// per system, spawn loops dashed. Pure: data in, markup out, no chart library, no I/O.

import { LOOP_NAME, sizeLabel } from './names.js';
import type { Measurement, SpawnLoopResult } from './types.js';

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly ChartPoint[];
  readonly dashed?: boolean;
}

export interface ChartSpec {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
}

const WIDTH = 900;
const HEIGHT = 480;
const PLOT = { left: 70, top: 40, right: 620, bottom: 420 } as const;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22', '#393b79', '#ad494a'];

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round step (1, 2 or 5 times a power of ten) giving about `count` intervals up to max. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step ?? 10 * power;
}

function formatTick(value: number): string {
  if (value >= 1000) return `${Number((value / 1000).toFixed(1))}k`;
  return String(Number(value.toFixed(2)));
}

export function renderChartSvg(spec: ChartSpec): string {
  const series = spec.series.filter((s) => s.points.length > 0);
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const maxY = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.y)));
  const step = niceStep(maxY * 1.05);
  const topY = Math.max(step, Math.ceil((maxY * 1.05) / step) * step);
  const [minX, maxX] = [xs[0] ?? 1, xs[xs.length - 1] ?? 1];
  const logSpan = Math.log(maxX) - Math.log(minX);
  const px = (x: number) =>
    logSpan > 0 ? PLOT.left + ((Math.log(x) - Math.log(minX)) / logSpan) * (PLOT.right - PLOT.left) : (PLOT.left + PLOT.right) / 2;
  const py = (y: number) => PLOT.bottom - (y / topY) * (PLOT.bottom - PLOT.top);
  const r = (n: number) => n.toFixed(1);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  ];
  if (series.length === 0) {
    out.push(`<text x="${(PLOT.left + PLOT.right) / 2}" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle">no data</text>`, '</svg>');
    return `${out.join('\n')}\n`;
  }
  for (let y = 0; y <= topY + step / 2; y += step) {
    out.push(
      `<line x1="${PLOT.left}" y1="${r(py(y))}" x2="${PLOT.right}" y2="${r(py(y))}" stroke="#e0e0e0"/>`,
      `<text x="${PLOT.left - 6}" y="${r(py(y) + 4)}" text-anchor="end">${formatTick(y)}</text>`,
    );
  }
  for (const x of xs) {
    out.push(
      `<line x1="${r(px(x))}" y1="${PLOT.top}" x2="${r(px(x))}" y2="${PLOT.bottom}" stroke="#f0f0f0"/>`,
      `<text x="${r(px(x))}" y="${PLOT.bottom + 16}" text-anchor="middle">${formatTick(x)}</text>`,
    );
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 36}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text x="18" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(PLOT.top + PLOT.bottom) / 2})">${escapeXml(spec.yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length] as string;
    const points = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(
      `<g class="series" data-name="${escapeXml(s.name)}">`,
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points.map((p) => `${r(px(p.x))},${r(py(p.y))}`).join(' ')}"/>`,
      ...points.map((p) => `<circle cx="${r(px(p.x))}" cy="${r(py(p.y))}" r="3" fill="${color}"><title>${escapeXml(`${s.name}: ${Math.round(p.y)} at ${p.x}`)}</title></circle>`),
      '</g>',
    );
    const ly = PLOT.top + 10 + i * 20;
    out.push(
      `<line x1="${PLOT.right + 20}" y1="${ly}" x2="${PLOT.right + 48}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${PLOT.right + 54}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The run's chart: every system's msgs/s at `size`, and the spawn loops (dashed) at the same stdin size. */
export function throughputChart(measurements: readonly Measurement[], loops: readonly SpawnLoopResult[], size: string, sizeBytes: number): ChartSpec {
  const systems = [...new Set(measurements.map((m) => m.system))];
  const series: ChartSeries[] = systems.map((name) => ({
    name,
    points: measurements
      .filter((m) => m.system === name && m.status === 'ok' && m.point.size === size)
      .map((m) => ({ x: m.point.connections, y: m.msgsPerSecond })),
  }));
  for (const kind of ['child_process', 'native', 'c-posix_spawn'] as const) {
    series.push({
      name: LOOP_NAME[kind],
      dashed: true,
      points: loops
        .filter((l) => l.loop === kind && l.status === 'ok' && l.stdinBytes === sizeBytes)
        .map((l) => ({ x: l.concurrency, y: l.spawnsPerSecond })),
    });
  }
  return {
    title: `Messages per second against connections (${sizeLabel(size)} messages, one connection per message)`,
    xLabel: 'concurrent connections (spawn loops: concurrent programs)',
    yLabel: 'messages per second (loops: spawns per second)',
    series,
  };
}
