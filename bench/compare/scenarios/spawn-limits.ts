// Spawn limits: tight spawn-and-wait loops at the concurrencies of the SMTP matrix, for each
// Node spawner (bench/spawn-loop.ts, the workers' own run path; stdin-bandwidth.ts when that
// is not built) and for C posix_spawn (spawn-loop.c, compiled with cc at run time), plus
// the stdin-bandwidth baseline of the large messages.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { SHARED_SPAWN_LOOP_JS, SPAWN_LOOP_C, STDIN_BANDWIDTH_JS } from '../paths.js';
import { runCommand } from '../processes.js';
import type { LoadPoint, LoopKind, SpawnLoopResult, Status } from '../types.js';
import { describeError, type BenchContext } from './context.js';

interface LoopOutput {
  readonly spawns: number;
  readonly seconds: number;
  readonly spawnsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** What bench/spawn-loop.ts prints per measurement (the fields read here). */
interface SharedLoopLine {
  readonly runs: number;
  readonly runsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: number;
}

/** bench/spawn-loop.ts feeds /bin/cat exactly 2 KB. */
const SHARED_LOOP_STDIN_BYTES = 2048;

function unmeasured(loop: LoopKind, point: LoadPoint, status: Exclude<Status, 'ok'>, note: string): SpawnLoopResult {
  return { loop, concurrency: point.connections, stdinBytes: point.sizeBytes, status, note, spawns: 0, seconds: 0, spawnsPerSecond: 0, bytesPerSecond: 0, p50Ms: null, p99Ms: null };
}

function fromOutput(loop: LoopKind, point: LoadPoint, out: LoopOutput, note: string | null): SpawnLoopResult {
  return {
    loop,
    concurrency: point.connections,
    stdinBytes: point.sizeBytes,
    status: out.spawns > 0 ? 'ok' : 'failed',
    note: out.spawns > 0 ? note : 'no program ran to completion',
    spawns: out.spawns,
    seconds: out.seconds,
    spawnsPerSecond: out.spawnsPerSecond,
    bytesPerSecond: out.spawnsPerSecond * point.sizeBytes,
    p50Ms: out.p50Ms,
    p99Ms: out.p99Ms,
  };
}

type LoopRun = SpawnLoopResult | { readonly unavailable: string };

function lastJsonLine<T>(stdout: string): T | null {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as T;
  } catch {
    return null;
  }
}

async function runNodeLoop(ctx: BenchContext, loop: 'child_process' | 'native', point: LoadPoint): Promise<LoopRun> {
  const { connections, durationSeconds, sizeBytes } = point;
  const timeoutMs = (durationSeconds + 60) * 1000;
  if (sizeBytes === SHARED_LOOP_STDIN_BYTES && ctx.program === '/bin/cat' && existsSync(SHARED_SPAWN_LOOP_JS)) {
    const args = ['--spawner', loop, '--hold-mb', '0', '--concurrency', String(connections), '--seconds', String(durationSeconds)];
    const result = await runCommand(process.execPath, [SHARED_SPAWN_LOOP_JS, ...args], { timeoutMs });
    const line = lastJsonLine<SharedLoopLine>(result.stdout);
    if (result.code !== 0 || line === null) {
      const why = result.stderr.trim().split('\n').find((l) => /unavailable|Error/.test(l)) ?? `exit ${result.code}`;
      return /unavailable/i.test(why) ? { unavailable: why.trim() } : unmeasured(loop, point, 'failed', why.trim());
    }
    const out = { spawns: line.runs, seconds: durationSeconds, spawnsPerSecond: line.runsPerSecond, p50Ms: line.p50Ms, p99Ms: line.p99Ms };
    return fromOutput(loop, point, out, line.failures > 0 ? `${line.failures} runs failed` : null);
  }
  const args = ['--spawner', loop, '-c', String(connections), '-d', String(durationSeconds), '--stdin-bytes', String(sizeBytes), '--program', ctx.program];
  const result = await runCommand(process.execPath, [STDIN_BANDWIDTH_JS, ...args], { timeoutMs });
  const out = lastJsonLine<LoopOutput & { unavailable?: string }>(result.stdout);
  if (out?.unavailable) return { unavailable: out.unavailable };
  if (result.code !== 0 || out === null) return unmeasured(loop, point, 'failed', `exit ${result.code}: ${result.stderr.trim().split('\n').slice(-2).join(' / ')}`);
  return fromOutput(loop, point, out, null);
}

async function runCLoop(ctx: BenchContext, binary: string, point: LoadPoint): Promise<SpawnLoopResult> {
  const { connections, durationSeconds, sizeBytes } = point;
  const result = await runCommand(binary, [String(connections), String(durationSeconds), String(sizeBytes), ctx.program], { timeoutMs: (durationSeconds + 60) * 1000 });
  const out = lastJsonLine<LoopOutput>(result.stdout);
  if (result.code !== 0 || out === null) return unmeasured('c-posix_spawn', point, 'failed', `exit ${result.code}: ${result.stderr.trim()}`);
  return fromOutput('c-posix_spawn', point, out, null);
}

/** Compiles spawn-loop.c into the work directory, or says why it could not. */
export async function compileCLoop(ctx: BenchContext): Promise<{ binary: string } | { skipped: string }> {
  const binary = path.join(ctx.workDir, 'spawn-loop');
  const result = await runCommand('cc', ['-O2', '-o', binary, SPAWN_LOOP_C], { timeoutMs: 120_000 });
  if (result.code !== 0) return { skipped: `no working C compiler (cc): ${result.stderr.trim().split('\n')[0] ?? ''}` };
  return { binary };
}

function describe(result: SpawnLoopResult): string {
  return result.status === 'ok' ? `${result.spawnsPerSecond.toFixed(0)} spawns/s, p99 ${result.p99Ms?.toFixed(1)} ms` : `${result.status}: ${result.note}`;
}

export async function runSpawnLimits(ctx: BenchContext): Promise<SpawnLoopResult[]> {
  const results: SpawnLoopResult[] = [];
  for (const loop of ['child_process', 'native'] as const) {
    let unavailable: string | null = null;
    for (const point of [...ctx.plan.spawnLoops, ...ctx.plan.bandwidthLoops]) {
      if (unavailable !== null) {
        results.push(unmeasured(loop, point, 'skipped', unavailable));
        continue;
      }
      ctx.log(`spawn loop ${loop}: c=${point.connections} stdin ${point.size} ${point.durationSeconds}s`);
      try {
        const result = await runNodeLoop(ctx, loop, point);
        if ('unavailable' in result) {
          unavailable = `${loop} spawner unavailable: ${result.unavailable}`;
          ctx.note(unavailable);
          results.push(unmeasured(loop, point, 'skipped', unavailable));
        } else {
          ctx.log(`  ${describe(result)}`);
          results.push(result);
        }
      } catch (err) {
        results.push(unmeasured(loop, point, 'failed', describeError(err)));
      }
    }
  }
  const compiled = await compileCLoop(ctx);
  if ('skipped' in compiled) ctx.note(`C posix_spawn loop skipped: ${compiled.skipped}`);
  for (const point of ctx.plan.spawnLoops) {
    if ('skipped' in compiled) {
      results.push(unmeasured('c-posix_spawn', point, 'skipped', compiled.skipped));
      continue;
    }
    ctx.log(`spawn loop C posix_spawn: c=${point.connections} ${point.durationSeconds}s`);
    const result = await runCLoop(ctx, compiled.binary, point);
    ctx.log(`  ${describe(result)}`);
    results.push(result);
  }
  return results;
}
