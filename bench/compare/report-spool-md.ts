// The report's sections for issue 13's groups: held-large (peak RSS, byte-exact delivery)
// and the interleaved rounds of large-ceiling and baseline. Pure: results in, Markdown lines out.

import { markdownTable } from './report-md-table.js';
import type { HeldLargeResult, InterleavedResult } from './types.js';

const num = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
const statusNote = (r: { status: string; note: string | null }) => (r.status === 'ok' ? (r.note ?? '') : `${r.status.toUpperCase()}: ${r.note ?? ''}`);

export function heldLargeSection(r: HeldLargeResult): string[] {
  return [
    '## Held large messages (issue 13): peak RSS and byte-exact delivery',
    '',
    `${r.messages} different messages of ${num(r.sizeBytes / 1048576, 1)} MB (${num(r.wireBytes / 1048576, 1)} MB on the wire) on ${r.messages} sessions at once, to a transport of`,
    `concurrency ${r.concurrency} whose programs wait until every final dot is out, then hash their stdin (bench/compare/held-reader.sh).`,
    `RSS: the daemon process, sampled every ${r.sampleIntervalMs} ms, and its VmHWM. In flight: final dot written, no reply yet.`,
    '',
    markdownTable(
      ['system', 'RSS before MB', 'VmHWM MB', 'sampled peak MB', 'max in flight', 'all sent at s', 'programs held', '2xx', 'byte-exact', 'seconds', 'note'],
      [
        [
          r.system,
          num(r.baselineRssMb),
          num(r.hwmRssMb),
          num(r.peakRssMb),
          String(r.maxInFlight),
          num(r.allSentAfterSeconds, 1),
          String(r.maxHeldPrograms),
          `${r.ok2xx}/${r.messages}`,
          `${r.byteExact}/${r.messages}`,
          num(r.seconds, 1),
          statusNote(r),
        ],
      ],
    ),
    '',
  ];
}

export function interleavedSection(groups: readonly InterleavedResult[]): string[] {
  if (groups.length === 0) return [];
  const out = ['## Interleaved rounds (issue 13): each row one run, in the order run', ''];
  for (const g of groups) {
    out.push(
      `${g.group}: c=${g.point.connections} ${g.point.size}, ${g.point.durationSeconds} s per run, ${g.rounds} rounds in ABBA order.${g.status === 'ok' ? '' : ` ${statusNote(g)}`}`,
      '',
      markdownTable(
        ['system', 'msgs/s', 'MB/s', 'p50 ms', 'p99 ms', 'RSS MB', 'replies', 'note'],
        g.measurements.map((m) => [
          m.system,
          m.status === 'ok' ? num(m.msgsPerSecond, 1) : '-',
          m.status === 'ok' ? num(m.bytesPerSecond / 1048576, 1) : '-',
          num(m.p50Ms, 1),
          num(m.p99Ms, 1),
          num(m.usage?.peakRssMb),
          `${m.ok2xx}/${m.fail4xx}/${m.fail5xx}/${m.errors}`,
          statusNote(m),
        ]),
      ),
      '',
    );
  }
  return out;
}
