// The cpu group (issue 17): CPU per message of smtpipe's main thread, pool workers, other
// threads and programs (and, with Processes = N, per front end and the primary), of a bare
// smtp-server sink (at full speed and at smtpipe's rate of the round), and per spawn of the C
// posix_spawn loop, all in the same rounds. Measures only; cpu-costs.ts does the arithmetic,
// cpu-targets.ts judges, report-cpu-md.ts renders.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cpuPerMessage, mainBusyPct, totalCpuUs } from '../cpu-costs.js';
import { equalRateFor } from '../cpu-targets.js';
import { runGenerator } from '../generator.js';
import { clockTicksPerSecond } from '../measure.js';
import { SYSTEM } from '../names.js';
import { SMTPIPE_CLI } from '../paths.js';
import { runCommand } from '../processes.js';
import { renderSmtpipeConfig } from '../servers/smtpipe-config.js';
import { findFrontEnds, readAllTicks, readProcessTicks, readSystemTicks } from '../thread-cpu.js';
import type { CpuLoopRun, CpuResult, CpuRole, CpuRound, CpuServerRun } from '../types.js';
import { describeError, SkipError, type BenchContext } from './context.js';
import { ceilingSystem } from './simple-servers.js';
import type { StartedSystem } from './smtp-matrix.js';
import { startSmtpipe, type SpawnerChoice } from './smtpipe.js';
import { compileCLoop } from './spawn-limits.js';

const REPLY_TIMEOUT_SECONDS = 60;

/** The cpu group's row name of smtpipe with `Processes = n`. */
export function cpuSystemName(spawner: SpawnerChoice | null, processes: number): string {
  const base = SYSTEM.smtpipe(spawner ?? 'default');
  return processes > 1 ? `${base.slice(0, -1)}, Processes = ${processes})` : base;
}

/** Does this build of smtpipe know the Processes option (issue 17's cluster mode)? */
async function hasProcessesOption(ctx: BenchContext): Promise<boolean> {
  const file = path.join(ctx.workDir, 'probe-processes.conf');
  writeFileSync(file, renderSmtpipeConfig({ port: 2525, spawner: null, domain: ctx.domain, program: ctx.program, slow: null, processes: 2 }));
  const result = await runCommand(process.execPath, [SMTPIPE_CLI, '--check', '-c', file], { timeoutMs: 30_000 });
  // A build without the option accepts the file and warns that Processes is ignored.
  return result.code === 0 && !/\bProcesses\b.*(ignored|not used|unknown)/i.test(`${result.stdout}\n${result.stderr}`);
}

interface CpuServer {
  readonly name: string;
  readonly role: CpuRole;
  readonly processes: number;
  readonly started: StartedSystem;
}

/** A run that did not measure anything. */
function notMeasured(server: CpuServer, offeredRate: number | null, status: 'failed' | 'skipped', note: string): CpuServerRun {
  return { system: server.name, role: server.role, offeredRate, processes: server.processes, status, note, messages: 0, seconds: 0, msgsPerSecond: 0, cpu: null, mainBusyPct: [], generatorUs: null, otherLoadCores: null };
}

/** `rate`: msgs/s offered with smtp-load -R; null = full speed. */
async function measureServer(ctx: BenchContext, server: CpuServer, messages: number, rate: number | null): Promise<CpuServerRun> {
  const { point } = ctx.plan.cpu;
  const failed = (note: string): CpuServerRun => notMeasured(server, rate, 'failed', note);
  const root = server.started.rootPid;
  // With Processes > 1 the root is the primary and the front ends are its node children.
  // A daemon that died (or was killed by someone else on this shared machine) is named as such.
  const gone = () => (existsSync(`/proc/${root}`) ? '' : ` (the daemon, pid ${root}, has exited)`);
  const frontEnds = server.processes > 1 ? await findFrontEnds(root) : [];
  if (server.processes > 1 && frontEnds.length === 0) return failed(`no front-end processes found under pid ${root}${gone()}`);
  const measured = frontEnds.length > 0 ? frontEnds : [root];
  const primaryPid = frontEnds.length > 0 ? root : null;
  const snapshot = async () => ({
    fronts: await readAllTicks(measured),
    primary: primaryPid === null ? null : await readProcessTicks(primaryPid),
    // The generator is our child: once reaped, its whole CPU is in our cutime + cstime.
    self: (await readProcessTicks(process.pid))?.reapedTicks ?? null,
    system: await readSystemTicks(),
  });
  const before = await snapshot();
  const gen = await runGenerator({
    port: server.started.port,
    connections: point.connections,
    amount: messages,
    size: point.size,
    to: ctx.domain,
    timeoutSeconds: REPLY_TIMEOUT_SECONDS,
    perConnection: 1,
    ...(rate === null ? {} : { ratePerSecond: rate }),
  });
  const after = await snapshot();
  const ok = gen.messages.ok2xx;
  if (ok === 0) return failed(`no 2xx reply${gone()}`);
  const lost = messages - ok;
  const clk = clockTicksPerSecond();
  const cpu = cpuPerMessage({ before: before.fronts, after: after.fronts, primaryBefore: before.primary, primaryAfter: after.primary, messages: ok, clockTicksPerSecond: clk, splitWorkers: server.role !== 'sink' });
  const generatorUs = before.self === null || after.self === null ? null : ((after.self - before.self) * 1e6) / clk / ok;
  let otherLoadCores: number | null = null;
  if (before.system && after.system && generatorUs !== null) {
    const seconds = (after.system.atMs - before.system.atMs) / 1000;
    const oursSeconds = ((totalCpuUs(cpu) + generatorUs) * ok) / 1e6;
    otherLoadCores = Math.max(0, ((after.system.busy - before.system.busy) / clk - oursSeconds) / seconds);
  }
  return {
    system: server.name,
    role: server.role,
    offeredRate: rate,
    processes: measured.length,
    status: 'ok',
    note: lost > 0 ? `${lost} of ${messages} without a 2xx (${gen.messages.fail4xx} 4xx, ${gen.errors + gen.timeouts + gen.resets} errors)` : null,
    messages: ok,
    seconds: gen.durationSeconds,
    msgsPerSecond: ok / gen.durationSeconds,
    cpu,
    mainBusyPct: after.system && before.system ? mainBusyPct(before.fronts, after.fronts, (after.system.atMs - before.system.atMs) / 1000, clk) : [],
    generatorUs,
    otherLoadCores,
  };
}

async function runLoop(ctx: BenchContext, binary: string | null, why: string): Promise<CpuLoopRun> {
  const none = (status: 'failed' | 'skipped', note: string): CpuLoopRun => ({ status, note, spawns: 0, spawnsPerSecond: 0, selfUs: null, childrenUs: null });
  if (binary === null) return none('skipped', why);
  const { point, loopSeconds } = ctx.plan.cpu;
  const result = await runCommand(binary, [String(point.connections), String(loopSeconds), String(point.sizeBytes), ctx.program], { timeoutMs: (loopSeconds + 60) * 1000 });
  try {
    const out = JSON.parse(result.stdout.trim().split('\n').pop() ?? '') as { spawns: number; spawnsPerSecond: number; selfCpuUs?: number; childrenCpuUs?: number };
    if (result.code !== 0 || !(out.spawns > 0)) return none('failed', `exit ${result.code}: ${result.stderr.trim()}`);
    const per = (us: number | undefined) => (us === undefined ? null : us / out.spawns);
    return { status: 'ok', note: null, spawns: out.spawns, spawnsPerSecond: out.spawnsPerSecond, selfUs: per(out.selfCpuUs), childrenUs: per(out.childrenCpuUs) };
  } catch {
    return none('failed', `exit ${result.code}: no JSON (${result.stderr.trim()})`);
  }
}

export async function runCpuScenario(ctx: BenchContext, spawner: SpawnerChoice | null, processesFlag: number | null, cores: number): Promise<CpuResult> {
  const { point, warmupMessages, messages, rounds } = ctx.plan.cpu;
  let processesOption = processesFlag;
  if (processesOption === null && (await hasProcessesOption(ctx))) processesOption = 2;
  if (processesOption === null) ctx.note('cpu: this build of smtpipe has no Processes option; only one process ran (--processes N runs it anyway).');
  const result: Omit<CpuResult, 'status' | 'note' | 'rounds'> = { point, warmupMessages, messages, clockTicksPerSecond: clockTicksPerSecond(), processesOption, cores };
  const compiled = await compileCLoop(ctx);
  const servers: CpuServer[] = [];
  const roundsDone: CpuRound[] = [];
  try {
    const sink: CpuServer = { name: SYSTEM.ceiling, role: 'sink', processes: 1, started: await ceilingSystem.start(ctx) };
    servers.push(sink);
    // The same sink process, measured a second time per round at smtpipe's rate.
    const sinkAtRate: CpuServer = { ...sink, name: `${SYSTEM.ceiling} at smtpipe's rate`, role: 'sink-equal-rate' };
    servers.push({ name: cpuSystemName(spawner, 1), role: 'smtpipe', processes: 1, started: await startSmtpipe(ctx, cpuSystemName(spawner, 1), { spawner, tag: 'cpu' }) });
    if (processesOption !== null) {
      const name = cpuSystemName(spawner, processesOption);
      try {
        servers.push({ name, role: 'smtpipe-processes', processes: processesOption, started: await startSmtpipe(ctx, name, { spawner, tag: `cpu-p${processesOption}`, listener: { processes: processesOption } }) });
      } catch (err) {
        ctx.note(`cpu: ${name} did not start: ${describeError(err)}`);
      }
    }
    for (const server of servers) {
      ctx.log(`cpu: ${server.name}: warm-up, ${warmupMessages} messages`);
      await runGenerator({ port: server.started.port, connections: point.connections, amount: warmupMessages, size: point.size, to: ctx.domain, timeoutSeconds: REPLY_TIMEOUT_SECONDS, perConnection: 1 });
    }
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so that no server always runs first after the loop.
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      const runs: CpuServerRun[] = [];
      const measure = async (server: CpuServer, rate: number | null) => {
        ctx.log(`cpu: round ${round}, ${server.name}: ${messages} messages at c=${point.connections} ${point.size}${rate === null ? '' : `, -R ${rate}`}`);
        const run = await measureServer(ctx, server, messages, rate);
        ctx.log(`  ${run.msgsPerSecond.toFixed(0)} msgs/s, main ${run.cpu?.mainUs.toFixed(0) ?? '-'} us/msg${run.note ? `; ${run.note}` : ''}`);
        runs.push(run);
        return run;
      };
      for (const server of order) {
        const run = await measure(server, null);
        if (server.role !== 'smtpipe') continue;
        // Right after smtpipe, the sink at smtpipe's rate: the same message count, the
        // same wake-ups per message, so main-thread CPU per message compares the work.
        const rate = equalRateFor(run);
        if (rate === null) runs.push(notMeasured(sinkAtRate, null, 'skipped', `${run.system} measured no rate this round`));
        else await measure(sinkAtRate, rate);
      }
      ctx.log(`cpu: round ${round}, C posix_spawn loop, ${ctx.plan.cpu.loopSeconds} s`);
      const loop = await runLoop(ctx, 'binary' in compiled ? compiled.binary : null, 'skipped' in compiled ? compiled.skipped : '');
      ctx.log(`  ${loop.spawnsPerSecond.toFixed(0)} spawns/s, ${((loop.selfUs ?? 0) + (loop.childrenUs ?? 0)).toFixed(0)} us/spawn`);
      roundsDone.push({ round, servers: [...servers, sinkAtRate].map((s) => runs.find((r) => r.role === s.role) as CpuServerRun), loop });
    }
    return { ...result, status: 'ok', note: null, rounds: roundsDone };
  } catch (err) {
    const status = err instanceof SkipError ? 'skipped' : 'failed';
    ctx.note(`cpu: ${status}: ${describeError(err)}`);
    return { ...result, status, note: describeError(err), rounds: roundsDone };
  } finally {
    for (const server of servers) await server.started.stop();
  }
}
