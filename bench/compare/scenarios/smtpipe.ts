// smtpipe as deployed: the built daemon (dist/src/ops/cli.js) on a generated config, one
// run per spawner. Knows how to tell "this daemon has no Spawner option" and "the native
// spawner cannot run here" (both skips) from a daemon that failed.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SYSTEM } from '../names.js';
import { SMTPIPE_CLI } from '../paths.js';
import { descendantsOf, freePort, killLeftovers, runCommand, sleep, startProcess, waitForPort } from '../processes.js';
import { renderSmtpipeConfig, type SmtpipeBenchConfig } from '../servers/smtpipe-config.js';
import { SkipError, type BenchContext } from './context.js';
import type { SmtpSystem, StartedSystem } from './smtp-matrix.js';

export type SpawnerChoice = 'child_process' | 'native';

/** Does this build of smtpipe know the Spawner option? (`--check` on a config that sets it.) */
export async function hasSpawnerOption(ctx: BenchContext): Promise<boolean> {
  const file = path.join(ctx.workDir, 'probe-spawner.conf');
  writeFileSync(file, renderSmtpipeConfig({ port: 2525, spawner: 'child_process', domain: ctx.domain, program: ctx.program, slow: null }));
  const result = await runCommand(process.execPath, [SMTPIPE_CLI, '--check', '-c', file], { timeoutMs: 30_000 });
  return result.code === 0;
}

export interface SmtpipeStartOptions {
  /** null: the daemon has no Spawner option; its only spawner runs. */
  readonly spawner: SpawnerChoice | null;
  readonly slow?: SmtpipeBenchConfig['slow'];
  /** Options beyond the defaults (the resources and held-large groups). */
  readonly listener?: Pick<SmtpipeBenchConfig, 'maxMessageBytes' | 'listenerSessions' | 'maxSessionsPerClient' | 'poolMaxQueue' | 'processes'>;
  /** Names the config and log files (default: "memory" with `slow`, else nothing). */
  readonly tag?: string;
  /** The daemon's cli.js (default: this checkout's build; the baseline group: another checkout's). */
  readonly cli?: string;
}

function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' / ');
  } catch {
    return '(no log)';
  }
}

export async function startSmtpipe(ctx: BenchContext, name: string, options: SmtpipeStartOptions): Promise<StartedSystem> {
  const port = await freePort();
  const label = `${options.cli === undefined ? '' : 'baseline-'}${options.spawner ?? 'default'}`;
  const tag = options.tag ?? (options.slow ? 'memory' : null);
  const configFile = path.join(ctx.workDir, `smtpipe-${label}${tag ? `-${tag}` : ''}.conf`);
  const logFile = path.join(ctx.workDir, `smtpipe-${label}${tag ? `-${tag}` : ''}.log`);
  writeFileSync(
    configFile,
    renderSmtpipeConfig({ port, spawner: options.spawner, domain: ctx.domain, program: ctx.program, slow: options.slow ?? null, ...options.listener }),
  );
  // --log-level info, as deployed: one JSON line per delivery, into a file.
  const daemon = startProcess(name, process.execPath, [options.cli ?? SMTPIPE_CLI, '-c', configFile, '--log-level', 'info'], { logFile });
  try {
    await waitForPort(port, 20_000, daemon);
  } catch (err) {
    await daemon.stop();
    const why = `${(err as Error).message}; log: ${tail(logFile)}`;
    // Spawner = native refuses to start when the addon is missing or its self-test fails.
    if (options.spawner === 'native' && daemon.hasExited) throw new SkipError(`native spawner unavailable: ${why}`);
    throw new Error(why);
  }
  const stop = async () => {
    const programs = await descendantsOf(daemon.pid);
    // smtpipe's documented two-stage stop: the first SIGTERM drains, the second forces and
    // kills the programs' own process groups (which a SIGKILL of ours would not reach).
    // A third signal would find the default disposition and kill it before it has
    // killed its programs, hence the wait before stop() (SIGTERM, then SIGKILL).
    daemon.signal('SIGTERM');
    await Promise.race([daemon.exited, sleep(300)]);
    daemon.signal('SIGTERM');
    const forced = await Promise.race([daemon.exited.then(() => true), sleep(10_000).then(() => false)]);
    await daemon.stop(2000);
    if (!forced) ctx.note(`${name}: the forced stop (second SIGTERM) did not end the daemon within 10 s; it was SIGKILLed`);
    const left = await killLeftovers(programs);
    if (left > 0) ctx.note(`${name}: ${left} program(s) outlived the daemon and were SIGKILLed by the benchmark`);
  };
  return { port, rootPid: daemon.pid, isAlive: () => !daemon.hasExited, stop };
}

export function smtpipeSystem(spawner: SpawnerChoice | null): SmtpSystem {
  const name = SYSTEM.smtpipe(spawner ?? 'child_process');
  return { name, start: (ctx) => startSmtpipe(ctx, name, { spawner }) };
}
