import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml, niceStep, renderChartSvg, throughputChart, type ChartSpec } from '../compare/chart-svg.js';
import type { Measurement, SpawnLoopResult } from '../compare/types.js';

const spec: ChartSpec = {
  title: 'msgs/s <by> connections',
  xLabel: 'connections',
  yLabel: 'msgs/s',
  series: [
    { name: 'smtpipe (native)', points: [{ x: 1, y: 100 }, { x: 200, y: 900 }, { x: 10, y: 500 }] },
    { name: 'naive & co', points: [{ x: 1, y: 50 }, { x: 200, y: 300 }] },
    { name: 'nothing', points: [] },
    { name: 'C loop', points: [{ x: 50, y: 1000 }], dashed: true },
  ],
};

test('one polyline and one legend entry per series with data, names escaped', () => {
  const svg = renderChartSvg(spec);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(svg.match(/<polyline /g)?.length, 3);
  assert.equal(svg.match(/<circle /g)?.length, 6);
  assert.ok(svg.includes('data-name="naive &#38; co"'));
  assert.ok(svg.includes('msgs/s &#60;by&#62; connections'));
  assert.ok(!svg.includes('data-name="nothing"'));
  assert.equal(svg.match(/stroke-dasharray/g)?.length, 2, 'the dashed line and its legend sample');
});

test('x is logarithmic from the smallest to the largest x, y starts at 0', () => {
  const svg = renderChartSvg(spec);
  const line = /data-name="smtpipe \(native\)">\n<polyline [^>]*points="([^"]+)"/.exec(svg);
  assert.ok(line);
  const points = (line[1] as string).split(' ').map((p) => p.split(',').map(Number) as [number, number]);
  // Sorted by x; 1 at the left edge (70), 200 at the right edge (620), 10 at log10(10)/log10(200).
  assert.deepEqual(points.map(([x]) => x), [70, Number((70 + (Math.log(10) / Math.log(200)) * 550).toFixed(1)), 620]);
  const ys = points.map(([, y]) => y);
  assert.ok((ys[0] as number) > (ys[1] as number) && (ys[1] as number) > (ys[2] as number), 'higher rate, higher on the page');
  assert.match(svg, />0<\/text>/);
  assert.match(svg, />1k<\/text>/, 'the y axis reaches past the largest value (1000)');
});

test('no data at all still gives a valid document', () => {
  const svg = renderChartSvg({ ...spec, series: [{ name: 'x', points: [] }] });
  assert.match(svg, />no data</);
  assert.match(svg, /<\/svg>\n$/);
});

test('niceStep picks 1, 2 or 5 times a power of ten', () => {
  const cases: Array<[number, number]> = [
    [0, 1],
    [10, 2],
    [1000, 200],
    [1234, 500],
    [0.3, 0.1],
    [4600, 1000],
  ];
  for (const [max, step] of cases) assert.equal(niceStep(max), step, `niceStep(${max})`);
});

test('escapeXml covers the five special characters', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
});

function measurement(system: string, connections: number, size: string, msgsPerSecond: number, status: Measurement['status'] = 'ok'): Measurement {
  return {
    system, point: { connections, size, sizeBytes: 2048, durationSeconds: 10 }, status, note: null, msgsPerSecond, bytesPerSecond: 0,
    p50Ms: 1, p99Ms: 2, sent: 1, ok2xx: 1, fail4xx: 0, fail5xx: 0, errors: 0, windowSeconds: 10, usage: null,
  };
}

test('throughputChart: one line per system at the size, failed points left out, loops dashed', () => {
  const loops: SpawnLoopResult[] = [
    { loop: 'c-posix_spawn', concurrency: 50, stdinBytes: 2048, status: 'ok', note: null, spawns: 1, seconds: 1, spawnsPerSecond: 700, bytesPerSecond: 0, p50Ms: 1, p99Ms: 2 },
    { loop: 'native', concurrency: 10, stdinBytes: 10_485_760, status: 'ok', note: null, spawns: 1, seconds: 1, spawnsPerSecond: 60, bytesPerSecond: 0, p50Ms: 1, p99Ms: 2 },
  ];
  const chart = throughputChart(
    [measurement('a', 1, '2k', 10), measurement('a', 10, '2k', 20), measurement('a', 50, '100k', 5), measurement('b', 1, '2k', 0, 'failed')],
    loops,
    '2k',
    2048,
  );
  const byName = new Map(chart.series.map((s) => [s.name, s]));
  assert.deepEqual(byName.get('a')?.points, [{ x: 1, y: 10 }, { x: 10, y: 20 }]);
  assert.deepEqual(byName.get('b')?.points, []);
  assert.deepEqual(byName.get('C posix_spawn loop')?.points, [{ x: 50, y: 700 }]);
  assert.equal(byName.get('C posix_spawn loop')?.dashed, true);
  assert.deepEqual(byName.get('spawn loop (native)')?.points, [], 'the 10 MB loop is not a 2 KB point');
});
