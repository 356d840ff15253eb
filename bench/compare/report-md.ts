// The run's Markdown report: results, spawn loops, memory scenario, ratios, targets and
// notes, as tables that diff well between runs. Pure: a RunReport in, text out.

import { sizeLabel } from './names.js';
import { markdownTable } from './report-md-table.js';
import { cpuSection } from './report-cpu-md.js';
import { heldLargeSection, interleavedSection } from './report-spool-md.js';
import { secondsLabel } from './resources.js';
import { computeRatios, formatTarget, RATIO_COLUMNS } from './targets.js';
import type { Measurement, ResourcesResult, RunReport } from './types.js';

export { markdownTable };

const num = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
/** Latencies: two decimals below 10 ms, one below 100, none above. */
export const ms = (value: number | null | undefined): string =>
  value === null || value === undefined ? '-' : num(value, value < 10 ? 2 : value < 100 ? 1 : 0);
const mb = (bytesPerSecond: number) => num(bytesPerSecond / 1048576, 1);
/** The note column: the note alone when the run was ok, else led by its status. */
const statusNote = (r: { status: string; note: string | null }) => (r.status === 'ok' ? (r.note ?? '') : `${r.status.toUpperCase()}: ${r.note ?? ''}`);

function resultRow(m: Measurement): string[] {
  const ok = m.status === 'ok';
  return [
    m.system,
    String(m.point.connections),
    sizeLabel(m.point.size),
    ok ? num(m.msgsPerSecond) : '-',
    ok ? mb(m.bytesPerSecond) : '-',
    ok ? ms(m.p50Ms) : '-',
    ok ? ms(m.p99Ms) : '-',
    num(m.usage?.peakRssMb),
    num(m.usage?.peakPssMb),
    num(m.usage?.cpuPct),
    num(m.usage?.treeCpuPct),
    ok ? `${m.ok2xx}/${m.fail4xx}/${m.fail5xx}/${m.errors}` : '-',
    statusNote(m),
  ];
}

export function renderReportMarkdown(report: RunReport, chartFile: string | null): string {
  const { host } = report;
  const out: string[] = [
    `# smtpipe comparison, ${report.startedAt}`,
    '',
    `Mode: ${report.mode}. Host: ${host.cpus} x ${host.cpuModel}, ${host.memoryMb} MB, Linux ${host.kernel}, Node ${host.node}; ` +
      `load average ${host.loadAverage.toFixed(2)} at start. Finished ${report.finishedAt}.`,
    'Every system ran on this machine, on loopback, with the same generator (one connection per message),',
    'program /bin/cat with its output discarded. How to read this: bench/README.md, section "Comparison".',
    '',
  ];
  if (chartFile) out.push(`![msgs/s against connections](${chartFile})`, '');

  out.push(
    '## Throughput, latency, resources',
    '',
    'msgs/s: 2xx replies per second (postfix (e2e): deliveries by pipe(8) per second until the queue drained).',
    'p50/p99: end of DATA to the final reply. RSS/PSS: peak of the server process tree. CPU: % of one core,',
    'main process / whole tree including the programs. Replies: 2xx/4xx/5xx/errors.',
    '',
    markdownTable(
      ['system', 'c', 'size', 'msgs/s', 'MB/s', 'p50 ms', 'p99 ms', 'RSS MB', 'PSS MB', 'CPU % main', 'CPU % tree', 'replies', 'note'],
      report.measurements.map(resultRow),
    ),
    '',
  );

  if (report.spawnLoops.length > 0) {
    out.push(
      '## Spawn loops (the ceiling for one program per message)',
      '',
      markdownTable(
        ['loop', 'c', 'stdin', 'spawns/s', 'MB/s', 'p50 ms', 'p99 ms', 'note'],
        report.spawnLoops.map((l) => [
          l.loop,
          String(l.concurrency),
          l.stdinBytes >= 1048576 ? `${num(l.stdinBytes / 1048576)} MB` : `${num(l.stdinBytes / 1024)} KB`,
          l.status === 'ok' ? num(l.spawnsPerSecond) : '-',
          l.status === 'ok' ? mb(l.bytesPerSecond) : '-',
          l.status === 'ok' ? ms(l.p50Ms) : '-',
          l.status === 'ok' ? ms(l.p99Ms) : '-',
          statusNote(l),
        ]),
      ),
      '',
    );
  }

  if (report.memory.length > 0) {
    out.push(
      '## Memory: small messages while large ones are held in flight',
      '',
      markdownTable(
        ['system', 'held', 'msgs/s without', 'msgs/s with', 'ratio', 'p99 ms with', 'RSS MB with', 'note'],
        report.memory.map((r) => [
          r.system,
          `${r.heldMessages} x ${num(r.heldBytes / r.heldMessages / 1048576)} MB`,
          num(r.baseline?.msgsPerSecond),
          num(r.loaded?.msgsPerSecond),
          num(r.ratio, 2),
          ms(r.loaded?.p99Ms),
          num(r.loaded?.usage?.peakRssMb),
          statusNote(r),
        ]),
      ),
      '',
    );
  }

  if (report.resources !== null) out.push(...resourcesSection(report.resources));
  if (report.heldLarge !== null) out.push(...heldLargeSection(report.heldLarge));
  out.push(...interleavedSection(report.interleaved));
  if (report.cpu) out.push(...cpuSection(report.cpu));

  const ratios = computeRatios(report);
  if (ratios.length > 0) {
    out.push(
      '## Ratios: smtpipe msgs/s divided by the other system (or loop) at the same point, same run',
      '',
      markdownTable(
        ['smtpipe', 'c', 'size', ...RATIO_COLUMNS],
        ratios.map((row) => [row.system, String(row.connections), sizeLabel(row.size), ...RATIO_COLUMNS.map((c) => num(row.ratios.get(c), 2))]),
      ),
      '',
    );
  }

  out.push('## Targets (benchmarks, not tests)', '', '```text', ...report.targets.map(formatTarget), '```', '');
  if (report.notes.length > 0) out.push('## Notes', '', ...report.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** The resources group: idle sessions, large messages in flight, growth over a steady run. */
export function resourcesSection(r: ResourcesResult): string[] {
  const { idle, large, growth } = r;
  const inFlightMb = (large.messages * large.sizeBytes) / 1048576;
  return [
    '## Resources: the smtpipe process\'s memory',
    '',
    'RSS and PSS of the daemon process alone (its worker threads included, the programs it runs not),',
    'each scenario on a freshly started daemon. MB = 2^20 bytes.',
    '',
    `Idle sessions: raw connections that got the 220 and the EHLO reply, then sat idle (Listener_Sessions ${idle.sessionsWanted * 2}).`,
    'RSS: median of readings 200 ms apart; peak: the kernel\'s high-water mark (VmHWM); per session: (with - idle) / sessions.',
    '',
    markdownTable(
      ['system', 'sessions', 'RSS idle MB', 'RSS with MB', 'per session KB', 'PSS idle MB', 'PSS with MB', 'peak RSS MB', 'RSS after close MB', 'note'],
      [[r.system, `${idle.sessionsOpen}/${idle.sessionsWanted}`, num(idle.baselineRssMb, 1), num(idle.withRssMb, 1), num(idle.perSessionKb, 1), num(idle.baselinePssMb, 1), num(idle.withPssMb, 1), num(idle.peakRssMb, 1), num(idle.afterCloseRssMb, 1), statusNote(idle)]],
    ),
    '',
    `Large messages: ${large.messages} x ${num(large.sizeBytes / 1048576)} MB sent at once (c=${large.messages}), each to a program that does not read its stdin`,
    'until every program holds its message, then all read at once (bench/compare/slow-reader.sh).',
    `RSS sampled every ${large.sampleIntervalMs} ms, PSS every ${large.sampleIntervalMs * 5} ms; VmHWM: the kernel's own peak. Held: most programs seen`,
    'holding a message at once, and when all did (seconds after sending began). Replies: 2xx/4xx/5xx/errors.',
    '',
    markdownTable(
      ['system', 'in flight', 'RSS before MB', 'peak RSS MB', 'peak / in flight', 'VmHWM MB', 'peak PSS MB', 'held', 'all held at s', 'replies', 'seconds', 'note'],
      [
        [
          r.system,
          `${large.messages} x ${num(large.sizeBytes / 1048576)} MB = ${num(inFlightMb)} MB`,
          num(large.baselineRssMb),
          num(large.peakRssMb),
          num(large.peakPerInFlight, 2),
          num(large.hwmRssMb),
          num(large.peakPssMb),
          String(large.maxHeldPrograms),
          num(large.allHeldAfterSeconds, 1),
          large.status === 'ok' ? `${large.ok2xx}/${large.fail4xx}/${large.fail5xx}/${large.errors}` : '-',
          num(large.seconds, 1),
          statusNote(large),
        ],
      ],
    ),
    '',
    `Growth: c=${growth.connections} ${sizeLabel(growth.size)}, one connection per message, for ${secondsLabel(growth.durationSeconds)}; RSS every second;`,
    `slope: least squares over ${secondsLabel(growth.fitFromSeconds)} to ${secondsLabel(growth.durationSeconds)}; growth: the fitted line's rise over that window / its start.`,
    '',
    markdownTable(
      ['system', 'c', 'size', 'msgs/s', ...growth.checkpoints.map((c) => `RSS ${secondsLabel(c.seconds)} MB`), 'slope MB/min', 'growth %', 'replies 2xx/errors', 'note'],
      [
        [
          r.system,
          String(growth.connections),
          sizeLabel(growth.size),
          num(growth.msgsPerSecond),
          ...growth.checkpoints.map((c) => num(c.rssMb, 1)),
          num(growth.slopeMbPerMin, 2),
          num(growth.growthPct, 1),
          `${growth.ok2xx}/${growth.errors}`,
          statusNote(growth),
        ],
      ],
    ),
    '',
  ];
}
