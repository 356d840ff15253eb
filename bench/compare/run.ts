#!/usr/bin/env node
// `npm run bench`: runs every scenario of the comparison in one go on this machine and writes
// bench/results/<date>.md, .json and .svg. Orchestration only: scenarios/ measure, the pure
// modules judge and render. Whatever it started is stopped, even on failure or Ctrl-C.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { throughputChart, renderChartSvg } from './chart-svg.js';
import { buildPlan, parseRunArgs, USAGE, wants, type RunOptions } from './plan.js';
import { SYSTEM } from './names.js';
import { REPO_ROOT } from './paths.js';
import { runCommand, stopAll } from './processes.js';
import { renderReportMarkdown } from './report-md.js';
import { describeError, type BenchContext } from './scenarios/context.js';
import { harakaSystem } from './scenarios/haraka.js';
import { runHeldLargeScenario } from './scenarios/held-large.js';
import { baselineSystem, runInterleaved } from './scenarios/interleaved.js';
import { runCpuScenario } from './scenarios/cpu.js';
import { runMemoryScenario } from './scenarios/memory.js';
import { runResourcesScenario } from './scenarios/resources.js';
import { postfixSystem } from './scenarios/postfix.js';
import { ceilingSystem, naiveNativeSystem, naiveSystem, smtpSinkSystem } from './scenarios/simple-servers.js';
import { runSmtpSystem, type SmtpSystem } from './scenarios/smtp-matrix.js';
import { hasSpawnerOption, smtpipeSystem, type SpawnerChoice } from './scenarios/smtpipe.js';
import { runSpawnLimits } from './scenarios/spawn-limits.js';
import { evaluateTargets, formatTarget } from './targets.js';
import { GROUP } from './targets-spool.js';
import type { CpuResult, HeldLargeResult, HostInfo, InterleavedResult, Measurement, MemoryResult, ResourcesResult, RunReport, SpawnLoopResult } from './types.js';

const FAIRNESS_NOTES = [
  'ceiling and both naive servers use smtpipe\'s own smtp-server subclass (src/smtp/connection.ts, PipeServer) with the same settings (bench/compare/servers/fixture.ts), greetingPauseMs 0 among them: stock smtp-server waits a hard-coded 100 ms before every 220, which alone would cap a one-connection-per-message client at 10 msgs/s per connection. Reverse DNS is off everywhere: disableReverseLookup (Node servers), smtpd_peername_lookup = no (Postfix), a lookup_rdns hook (Haraka).',
  `${SYSTEM.naiveNative} is the naive design with smtpipe's native spawner on the main thread: DATA streamed into the program's stdin, no pool, no policy, no log line, no metrics. It runs only at the target points (c=50 2k, 10m), as the reference for smtpipe's C-loop and bandwidth targets: what smtp-server and the spawner reach without smtpipe's own path.`,
  'The generator runs on the same machine (2 cores here) and competes with the server for CPU; the machine is shared and noisy. Compare ratios within one run, not absolute figures across runs.',
  'smtpipe runs its shipped defaults (Pool_Threads = CPUs up to 4, transport concurrency 16, Pool_Max_Queue 1000), logging one JSON line per delivery to a file; only Max_Message_Size is raised (50 MB) for the 10 MB messages.',
  'Postfix: a private instance (bench/postfix/setup.sh), default_process_limit 250, the default per-destination concurrency (20) for the pipe(8) transport, its own mail log through postlogd. pipe(8) cannot give a program /dev/null as stdout (it reads the output, stops after a bounded excerpt, and cat then dies of EPIPE and the message bounces), so its service runs /bin/sh -c \'exec /bin/cat >/dev/null\': one more exec per message than the other systems. "postfix (e2e)" counts until pipe(8) delivered every accepted message; "postfix (queued)" is only smtpd accepting into the queue.',
  'Haraka: 2 cluster processes, the only plugin is bench/haraka/bench_pipe.cjs (accepts the bench domain, pipes the message into the program at queue time, answers after exit), default log level, output to a file.',
];

function hostInfo(): HostInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    memoryMb: Math.round(os.totalmem() / 1048576),
    loadAverage: os.loadavg()[0] ?? 0,
  };
}

/** 2026-11-25T19:40:12.345Z -> 2026-11-25-1940 (UTC). */
export function fileStamp(iso: string): string {
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

async function runAll(options: RunOptions): Promise<RunReport> {
  const plan = buildPlan(options);
  const startedAt = new Date().toISOString();
  const host = hostInfo();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-bench-'));
  // Postfix's daemons (user postfix) must traverse it to reach their private queue.
  chmodSync(workDir, 0o755);
  const notes = [...FAIRNESS_NOTES];
  const ctx: BenchContext = {
    plan,
    workDir,
    domain: 'bench.test',
    program: '/bin/cat',
    log: (text) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`),
    note: (text) => notes.push(text),
  };
  const measurements: Measurement[] = [];
  let spawnLoops: SpawnLoopResult[] = [];
  const memory: MemoryResult[] = [];
  let resources: ResourcesResult | null = null;
  let heldLarge: HeldLargeResult | null = null;
  const interleaved: InterleavedResult[] = [];
  let cpu: CpuResult | null = null;
  try {
    if (wants(options, 'spawn')) spawnLoops = await runSpawnLimits(ctx);

    let spawners: (SpawnerChoice | null)[] = ['child_process', 'native'];
    if (!(await hasSpawnerOption(ctx))) {
      spawners = [null];
      ctx.note('smtpipe (native) skipped: this build of smtpipe has no Spawner option; only its child_process spawner ran.');
    }
    const systems: SmtpSystem[] = [];
    if (wants(options, 'ceiling')) systems.push(ceilingSystem);
    if (wants(options, 'naive')) systems.push(naiveSystem);
    if (wants(options, 'smtpipe')) systems.push(...spawners.map(smtpipeSystem));
    if (wants(options, 'smtp-sink')) systems.push(smtpSinkSystem);
    if (wants(options, 'postfix')) systems.push(postfixSystem);
    if (wants(options, 'haraka')) systems.push(harakaSystem);
    for (const system of systems) measurements.push(...(await runSmtpSystem(ctx, system, plan.points)));
    // A reference, not a competitor: at the target points only (targets.ts reads it).
    if (wants(options, 'naive-native')) measurements.push(...(await runSmtpSystem(ctx, naiveNativeSystem, plan.targetPoints)));

    if (wants(options, 'memory')) {
      for (const spawner of spawners) memory.push(await runMemoryScenario(ctx, spawner));
    }
    if (wants(options, 'resources')) resources = await runResourcesScenario(ctx, spawners.includes('native') ? 'native' : null);

    // Issue 13 (bounded memory): smtpipe as shipped picks the native spawner when it can.
    const spawner = spawners.includes('native') ? 'native' : null;
    const current = smtpipeSystem(spawner);
    if (wants(options, 'held-large')) heldLarge = await runHeldLargeScenario(ctx, spawner);
    if (wants(options, 'large-ceiling')) interleaved.push(await runInterleaved(ctx, GROUP.largeCeiling, [current, ceilingSystem], plan.largeCeiling));
    if (wants(options, 'baseline')) {
      if (options.baseline === null) {
        ctx.note('baseline: skipped: no --baseline DIR given (a built checkout of smtpipe to compare with)');
      } else {
        const here = await runCommand('git', ['-C', REPO_ROOT, 'log', '-1', '--format=%h %s'], { timeoutMs: 10_000 });
        if (here.code === 0) ctx.note(`${current.name}: this checkout at ${here.stdout.trim()}`);
        const baseline = await baselineSystem(ctx, options.baseline, spawner, SYSTEM.baseline);
        interleaved.push(await runInterleaved(ctx, GROUP.baseline, [current, baseline], plan.baseline));
      }
    }
    if (wants(options, 'cpu')) cpu = await runCpuScenario(ctx, spawner, options.processes, host.cpus);
  } finally {
    await stopAll();
    if (options.keep) ctx.log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  const results = { measurements, spawnLoops, memory, resources, heldLarge, interleaved, cpu };
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: plan.mode,
    host,
    ...results,
    targets: evaluateTargets(results),
    notes,
  };
}

async function main(): Promise<number> {
  const parsed = parseRunArgs(process.argv.slice(2));
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`bench: ${parsed.message}\n\n${USAGE}`);
    return 64;
  }
  const interrupt = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}, stopping everything started\n`);
    stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  // npm runs the script in bench/: a relative --baseline means the caller's directory.
  const baselineDir = parsed.options.baseline === null ? null : path.resolve(process.env['INIT_CWD'] ?? process.cwd(), parsed.options.baseline);
  const report = await runAll({ ...parsed.options, baseline: baselineDir });
  const outDir = path.resolve(REPO_ROOT, parsed.options.outDir);
  mkdirSync(outDir, { recursive: true });
  const stamp = fileStamp(report.startedAt);
  const chartSize = report.measurements.some((m) => m.point.size === '2k') ? '2k' : (report.measurements[0]?.point.size ?? '2k');
  const chartBytes = report.measurements.find((m) => m.point.size === chartSize)?.point.sizeBytes ?? 2048;
  writeFileSync(path.join(outDir, `${stamp}.svg`), renderChartSvg(throughputChart(report.measurements, report.spawnLoops, chartSize, chartBytes)));
  const markdown = renderReportMarkdown(report, `${stamp}.svg`);
  writeFileSync(path.join(outDir, `${stamp}.md`), markdown);
  writeFileSync(path.join(outDir, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);

  process.stdout.write(`${markdown}\n`);
  process.stderr.write(`\n${report.targets.map(formatTarget).join('\n')}\n\nwrote ${path.join(outDir, stamp)}.{md,json,svg}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    console.error('bench: run failed:', describeError(err), err);
    await stopAll();
    process.exitCode = 70;
  },
);
