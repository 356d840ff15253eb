// The resources group: the smtpipe process's memory (RSS, PSS) with 1,000 idle sessions,
// with 200 x 10 MB messages in flight at once, and across an 80 s steady run (the last
// 60 s judged). One fresh daemon per scenario (each figure starts from a cold process),
// with the native spawner; when that cannot run here, the default Spawner, with a note. Only the daemon process is
// measured (its worker threads included), not the programs it runs.

import { chmodSync, copyFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ReplyParser } from 'smtp-load';
import { runGenerator, startGenerator, type RunningGenerator } from '../generator.js';
import { countInTree } from '../measure.js';
import { SYSTEM } from '../names.js';
import { SLOW_READER_SH } from '../paths.js';
import { runCommand, sleep } from '../processes.js';
import {
  checkpoints,
  fitGrowth,
  MIB,
  peakPerInFlight,
  perSessionKb,
} from '../resources.js';
import type { GrowthResult, IdleSessionsResult, LargeDeliveriesResult, ResourcesResult } from '../types.js';
import { describeError, SkipError, type BenchContext } from './context.js';
import { pssMb, readMemory, startRssSampler, steadyRssMb, type RssSampler } from './rss-sampler.js';
import type { StartedSystem } from './smtp-matrix.js';
import { startSmtpipe, type SmtpipeStartOptions, type SpawnerChoice } from './smtpipe.js';
import { createFifoGate } from './fifo-gate.js';

/** Seconds to wait for any one reply; the large messages' replies wait for the held programs. */
const REPLY_TIMEOUT_SECONDS = 120;
/** Sessions being opened at once (the rest wait): stays under the listen backlog. */
const OPEN_PARALLEL = 50;
const OPEN_TIMEOUT_MS = 30_000;

/** Raw sessions that got through the 220 and EHLO and now sit idle. */
interface IdleSessions {
  readonly open: ReadonlySet<net.Socket>;
  readonly failed: number;
  readonly firstError: string | null;
  close(): Promise<void>;
}

/** Connects, waits for the 220, sends EHLO, waits for its 250; rejects on anything else. */
function openSession(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let stage: 'greeting' | 'ehlo' | 'idle' = 'greeting';
    const fail = (why: string) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no ${stage === 'greeting' ? '220' : 'EHLO reply'} within ${OPEN_TIMEOUT_MS} ms`), OPEN_TIMEOUT_MS);
    const parser = new ReplyParser((code) => {
      if (stage === 'greeting' && code === 220) {
        stage = 'ehlo';
        socket.write('EHLO bench.test\r\n');
      } else if (stage === 'ehlo' && code === 250) {
        stage = 'idle';
        clearTimeout(timer);
        resolve(socket);
      } else if (stage !== 'idle') {
        fail(`${stage === 'greeting' ? 'greeting' : 'EHLO'} answered ${code || 'with a malformed line'}`);
      }
    });
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
    socket.on('error', (err) => {
      if (stage !== 'idle') fail(err.message);
    });
    socket.on('close', () => {
      if (stage !== 'idle') fail('closed by the server');
    });
  });
}

async function openIdleSessions(port: number, count: number): Promise<IdleSessions> {
  const open = new Set<net.Socket>();
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        const socket = await openSession(port);
        open.add(socket);
        // A session the server ends (Idle_Time, a crash) no longer counts as open.
        socket.once('close', () => open.delete(socket));
      } catch (err) {
        failed += 1;
        firstError ??= describeError(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_PARALLEL, count) }, worker));
  return {
    open,
    failed,
    firstError,
    async close() {
      const sockets = [...open];
      const closed = Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))));
      for (const s of sockets) s.end('QUIT\r\n');
      await Promise.race([closed, sleep(5000)]);
      for (const s of sockets) s.destroy();
    },
  };
}

/** The result of a scenario that measured nothing (its status and note are set by the caller). */
function idleNotRun(ctx: BenchContext): IdleSessionsResult {
  const { idleSessions } = ctx.plan.resources;
  return {
    status: 'failed',
    note: null,
    sessionsWanted: idleSessions,
    sessionsOpen: 0,
    baselineRssMb: null,
    baselinePssMb: null,
    withRssMb: null,
    withPssMb: null,
    peakRssMb: null,
    afterCloseRssMb: null,
    perSessionKb: null,
  };
}

function largeNotRun(ctx: BenchContext): LargeDeliveriesResult {
  const { messages, sizeBytes, sampleIntervalMs } = ctx.plan.resources.large;
  return {
    status: 'failed',
    note: null,
    messages,
    sizeBytes,
    sampleIntervalMs,
    allHeldAfterSeconds: null,
    baselineRssMb: null,
    peakRssMb: null,
    hwmRssMb: null,
    peakPssMb: null,
    peakPerInFlight: null,
    maxHeldPrograms: 0,
    ok2xx: 0,
    fail4xx: 0,
    fail5xx: 0,
    errors: 0,
    seconds: 0,
  };
}

function growthNotRun(ctx: BenchContext): GrowthResult {
  const { point, fitFromSeconds, checkpointSeconds } = ctx.plan.resources.growth;
  return {
    status: 'failed',
    note: null,
    connections: point.connections,
    size: point.size,
    durationSeconds: point.durationSeconds,
    fitFromSeconds,
    samples: [],
    checkpoints: checkpointSeconds.map((seconds) => ({ seconds, rssMb: null })),
    slopeMbPerMin: null,
    growthPct: null,
    msgsPerSecond: 0,
    ok2xx: 0,
    errors: 0,
  };
}

/** Starts the daemons of the group; the first native failure switches to the default Spawner for the rest. */
class DaemonStarter {
  spawner: SpawnerChoice | null;

  constructor(
    private readonly ctx: BenchContext,
    spawner: SpawnerChoice | null,
  ) {
    this.spawner = spawner;
  }

  get system(): string {
    return SYSTEM.smtpipe(this.spawner ?? 'default');
  }

  async start(options: Omit<SmtpipeStartOptions, 'spawner'>): Promise<StartedSystem> {
    try {
      return await startSmtpipe(this.ctx, this.system, { ...options, spawner: this.spawner });
    } catch (err) {
      if (!(err instanceof SkipError) || this.spawner !== 'native') throw err;
      this.spawner = null;
      this.ctx.note(`resources: ${describeError(err)}; the group ran with smtpipe's default Spawner ("auto") instead.`);
      return startSmtpipe(this.ctx, this.system, { ...options, spawner: null });
    }
  }
}

async function runIdleSessions(ctx: BenchContext, starter: DaemonStarter): Promise<IdleSessionsResult> {
  const { idleSessions, listenerSessions } = ctx.plan.resources;
  const empty = idleNotRun(ctx);
  const started = await starter.start({ tag: 'idle-sessions', listener: { listenerSessions } });
  let sessions: IdleSessions | null = null;
  try {
    const pid = started.rootPid;
    await sleep(1000);
    const baselineRssMb = await steadyRssMb(pid);
    const baselinePssMb = await pssMb(pid);
    ctx.log(`resources, idle sessions: baseline ${baselineRssMb?.toFixed(1)} MB; opening ${idleSessions}`);
    sessions = await openIdleSessions(started.port, idleSessions);
    await sleep(2000);
    const sessionsOpen = sessions.open.size;
    const withRssMb = await steadyRssMb(pid, 10);
    const withPssMb = await pssMb(pid);
    const peak = await readMemory(pid);
    const stillOpen = sessions.open.size;
    const { failed, firstError } = sessions;
    await sessions.close();
    sessions = null;
    await sleep(2000);
    const afterCloseRssMb = await steadyRssMb(pid);
    const problems = [
      failed > 0 ? `${failed} of ${idleSessions} sessions did not open (first: ${firstError ?? '?'})` : '',
      stillOpen < sessionsOpen ? `${sessionsOpen - stillOpen} closed by the server while measured` : '',
    ].filter(Boolean);
    const result: IdleSessionsResult = {
      ...empty,
      status: sessionsOpen > 0 && withRssMb !== null ? 'ok' : 'failed',
      note: problems.length > 0 ? problems.join('; ') : null,
      sessionsOpen: stillOpen,
      baselineRssMb,
      baselinePssMb,
      withRssMb,
      withPssMb,
      peakRssMb: peak ? peak.hwmBytes / MIB : null,
      afterCloseRssMb,
      perSessionKb: perSessionKb(baselineRssMb, withRssMb, stillOpen),
    };
    ctx.log(`  ${stillOpen} sessions: ${withRssMb?.toFixed(1)} MB, ${result.perSessionKb?.toFixed(1)} KB each; after closing ${afterCloseRssMb?.toFixed(1)} MB`);
    return result;
  } finally {
    await sessions?.close();
    await started.stop();
  }
}

/** The held programs' name in /proc (the kernel names a script after its file). */
const SLOW_READER_COMM = 'slow-reader.sh';

/** Copies the slow program into the scratch directory, makes it executable, and makes its FIFO. */
async function installSlowReader(ctx: BenchContext): Promise<{ script: string; fifo: string }> {
  const script = path.join(ctx.workDir, 'slow-reader.sh');
  copyFileSync(SLOW_READER_SH, script);
  chmodSync(script, 0o755);
  const fifo = path.join(ctx.workDir, 'release.fifo');
  // Readable by others: run as root, smtpipe starts the programs as nobody (its default).
  const made = await runCommand('mkfifo', ['-m', '0604', fifo], { timeoutMs: 10_000 });
  if (made.code !== 0) throw new SkipError(`mkfifo failed: ${made.stderr.trim()}`);
  return { script, fifo };
}

async function runLargeDeliveries(ctx: BenchContext, starter: DaemonStarter): Promise<LargeDeliveriesResult> {
  const { messages, size, sizeBytes, holdTimeoutSeconds, maxMessageBytes, sampleIntervalMs } = ctx.plan.resources.large;
  const empty = largeNotRun(ctx);
  const slowDomain = `slow.${ctx.domain}`;
  const { script, fifo } = await installSlowReader(ctx);
  const started = await starter.start({
    tag: 'large-deliveries',
    slow: { domain: slowDomain, program: `${script} ${fifo}`, concurrency: messages },
    listener: { maxMessageBytes },
  });
  let sampler: RssSampler | null = null;
  let gen: RunningGenerator | null = null;
  let finished = false;
  const gate = createFifoGate(fifo);
  try {
    const pid = started.rootPid;
    await sleep(1000);
    const baselineRssMb = await steadyRssMb(pid);
    ctx.log(`resources, large deliveries: ${messages} x ${size} at c=${messages}, held until all ${messages} are in flight`);
    sampler = startRssSampler(pid, sampleIntervalMs, 5);
    const t0 = performance.now();
    gen = startGenerator({
      port: started.port,
      connections: messages,
      amount: messages,
      size,
      to: slowDomain,
      timeoutSeconds: REPLY_TIMEOUT_SECONDS,
      perConnection: 1,
    });
    const result = gen.result.finally(() => {
      finished = true;
    });
    result.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    // Hold every message until all are in flight (or the generator gave up, or time ran out).
    let maxHeldPrograms = 0;
    let allHeldAfterSeconds: number | null = null;
    const deadline = t0 + holdTimeoutSeconds * 1000;
    while (!finished && performance.now() < deadline) {
      const held = await countInTree(pid, SLOW_READER_COMM);
      maxHeldPrograms = Math.max(maxHeldPrograms, held);
      if (held >= messages) {
        allHeldAfterSeconds = (performance.now() - t0) / 1000;
        await sleep(1000); // the plateau, for the sampler
        break;
      }
      await sleep(250);
    }
    gate.open();
    const out = await result;
    const sampled = await sampler.stop();
    sampler = null;
    const hwm = await readMemory(pid);
    const { ok2xx, fail4xx, fail5xx } = out.messages;
    const errors = out.errors + out.timeouts + out.resets;
    const problems = [
      ok2xx < messages ? `${messages - ok2xx} of ${messages} not delivered (${fail4xx} 4xx, ${fail5xx} 5xx, ${errors} errors)` : '',
      allHeldAfterSeconds === null ? `at most ${maxHeldPrograms} of ${messages} held at once; released after ${((performance.now() - t0) / 1000).toFixed(0)} s` : '',
    ].filter(Boolean);
    const measured: LargeDeliveriesResult = {
      ...empty,
      status: ok2xx > 0 && sampled.peakRssMb !== null ? 'ok' : 'failed',
      note: problems.length > 0 ? problems.join('; ') : null,
      allHeldAfterSeconds,
      baselineRssMb,
      peakRssMb: sampled.peakRssMb,
      hwmRssMb: hwm ? hwm.hwmBytes / MIB : null,
      peakPssMb: sampled.peakPssMb,
      peakPerInFlight: peakPerInFlight(sampled.peakRssMb, messages, sizeBytes),
      maxHeldPrograms,
      ok2xx,
      fail4xx,
      fail5xx,
      errors,
      seconds: out.durationSeconds,
    };
    ctx.log(`  peak ${measured.peakRssMb?.toFixed(0)} MB (${measured.peakPerInFlight?.toFixed(2)} x in flight), all held after ${allHeldAfterSeconds?.toFixed(1) ?? '-'} s, ${ok2xx} delivered in ${out.durationSeconds.toFixed(1)} s`);
    return measured;
  } finally {
    await sampler?.stop();
    if (!finished) gen?.kill();
    // Stopped with the programs still blocked (a failure above) is fine: the forced stop kills them.
    await started.stop();
    gate.close();
  }
}

async function runGrowth(ctx: BenchContext, starter: DaemonStarter): Promise<GrowthResult> {
  const { point, sampleIntervalMs, fitFromSeconds, checkpointSeconds } = ctx.plan.resources.growth;
  const empty = growthNotRun(ctx);
  const started = await starter.start({ tag: 'growth' });
  let sampler: RssSampler | null = null;
  try {
    ctx.log(`resources, growth: c=${point.connections} ${point.size} for ${point.durationSeconds} s, RSS every ${sampleIntervalMs} ms`);
    sampler = startRssSampler(started.rootPid, sampleIntervalMs);
    const gen = await runGenerator({
      port: started.port,
      connections: point.connections,
      seconds: point.durationSeconds,
      size: point.size,
      to: ctx.domain,
      timeoutSeconds: REPLY_TIMEOUT_SECONDS,
      perConnection: 1,
    });
    const { samples } = await sampler.stop();
    sampler = null;
    const fit = fitGrowth(samples, fitFromSeconds, point.durationSeconds);
    const errors = gen.errors + gen.timeouts + gen.resets;
    const { ok2xx, fail4xx, fail5xx } = gen.messages;
    const problems = [
      fail4xx + fail5xx + errors > 0 ? `${fail4xx} 4xx, ${fail5xx} 5xx, ${errors} errors` : '',
      fit === null ? `too few samples (${samples.length}) to fit` : '',
    ].filter(Boolean);
    const result: GrowthResult = {
      ...empty,
      status: ok2xx > 0 && fit !== null ? 'ok' : 'failed',
      note: problems.length > 0 ? problems.join('; ') : null,
      samples: samples.map((s) => ({ t: Number(s.t.toFixed(3)), rssMb: Number(s.rssMb.toFixed(2)) })),
      checkpoints: checkpoints(samples, checkpointSeconds, sampleIntervalMs / 1000),
      slopeMbPerMin: fit?.slopeMbPerMin ?? null,
      growthPct: fit?.growthPct ?? null,
      msgsPerSecond: gen.durationSeconds > 0 ? ok2xx / gen.durationSeconds : 0,
      ok2xx,
      errors,
    };
    ctx.log(`  slope ${result.slopeMbPerMin?.toFixed(2)} MB/min, growth ${result.growthPct?.toFixed(1)} %, ${result.msgsPerSecond.toFixed(0)} msgs/s`);
    return result;
  } finally {
    await sampler?.stop();
    await started.stop();
  }
}

/** The three scenarios in turn, each on its own daemon; a failing one is recorded and the next runs. */
export async function runResourcesScenario(ctx: BenchContext, spawner: SpawnerChoice | null): Promise<ResourcesResult> {
  const starter = new DaemonStarter(ctx, spawner === null ? null : 'native');
  if (spawner === null) ctx.note('resources: this build of smtpipe has no Spawner option; the group ran with its only spawner.');
  const guard = async <T extends { status: string; note: string | null }>(name: string, run: () => Promise<T>, empty: () => T): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      const status = err instanceof SkipError ? 'skipped' : 'failed';
      ctx.note(`resources, ${name}: ${status}: ${describeError(err)}`);
      ctx.log(`resources, ${name}: ${status}: ${describeError(err)}`);
      return { ...empty(), status, note: describeError(err) };
    }
  };
  const idle = await guard('idle sessions', () => runIdleSessions(ctx, starter), () => idleNotRun(ctx));
  const large = await guard('large deliveries', () => runLargeDeliveries(ctx, starter), () => largeNotRun(ctx));
  const growth = await guard('growth', () => runGrowth(ctx, starter), () => growthNotRun(ctx));
  return { system: starter.system, idle, large, growth };
}
