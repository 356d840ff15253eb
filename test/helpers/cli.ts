// The built CLI as a child process for test/process/: started on a config, its JSON log
// lines collected, resolved once it logs 'listening'. Optionally as another user, with
// extra node flags, its own environment, or under a shell prefix (`ulimit -n 128`).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { scratchDir } from './daemon.js';
import { repoRoot } from './paths.js';
import { forcedTestSpawner } from './spawner.js';

export const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');

export interface RunningCli {
  readonly child: ChildProcess;
  /** The daemon's own pid (from its log lines): child.pid is the shell's under a prefix. */
  readonly pid: number;
  /** The first Listen's port. */
  readonly port: number;
  /** Every Listen's port, in config order. */
  readonly ports: number[];
  /** Metrics_Listen's port, when set. */
  readonly metricsPort: number | null;
  /** The directory {{dir}} stood for. */
  readonly dir: string;
  readonly logs: Array<Record<string, unknown>>;
  readonly stderr: string[];
  /** Resolves with the first log line whose msg is `msg` (already logged or to come). */
  logged(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export interface CliOptions {
  /** Where the config goes and what {{dir}} means; default: a new scratch directory. */
  readonly dir?: string;
  /** Shell commands run before the daemon, in the same process (`ulimit -n 128`). */
  readonly shellPrefix?: string;
  /** Run as this user (the test must be root). */
  readonly uid?: number;
  readonly gid?: number;
  /** The daemon's whole environment; default: ours. */
  readonly env?: NodeJS.ProcessEnv;
  /** Flags for node itself, before the script. */
  readonly nodeArgs?: readonly string[];
}

const portOf = (address: string) => Number(address.split(':').pop());

/** Writes `conf` ({{dir}} = the directory) to <dir>/smtpipe.conf and starts the CLI on it. */
export async function startCli(conf: string, options: CliOptions = {}): Promise<RunningCli> {
  const dir = options.dir ?? (await scratchDir());
  const file = path.join(dir, 'smtpipe.conf');
  // SMTPIPE_TEST_SPAWNER=child_process runs it as where the addon did not build.
  const forced = forcedTestSpawner();
  await writeFile(file, (forced ? `Spawner = ${forced}\n` : '') + conf.replaceAll('{{dir}}', dir), { mode: 0o644 });
  const argv = [...(options.nodeArgs ?? []), CLI, '-c', file];
  const [command, args] =
    options.shellPrefix === undefined
      ? [process.execPath, argv]
      : ['/bin/sh', ['-c', `${options.shellPrefix}; exec "$0" "$@"`, process.execPath, ...argv]];
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid }),
  });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => stderr.push(line));
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'listening') resolve(entry);
    });
    child.once('exit', (code) => reject(new Error(`smtpipe exited with ${code}: ${stderr.join('\n')}`)));
  });
  const entry = await listening;
  const ports = (entry.listeners as string[]).map(portOf);
  return {
    child,
    pid: Number(entry.pid),
    port: ports[0] ?? 0,
    ports,
    metricsPort: typeof entry.metrics === 'string' ? portOf(entry.metrics) : null,
    dir,
    logs,
    stderr,
    async logged(msg, timeoutMs = 5_000) {
      const end = performance.now() + timeoutMs;
      for (;;) {
        const line = logs.find((l) => l.msg === msg);
        if (line) return line;
        if (performance.now() > end) throw new Error(`no log line "${msg}" within ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      return ((await exited) as [number | null])[0];
    },
  };
}

export interface CheckResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `smtpipe --check -c file` run to its end: exit code, stdout (the ok line), stderr (diagnostics). */
export async function runCheck(file: string, options: { readonly cwd?: string } = {}): Promise<CheckResult> {
  const child = spawn(process.execPath, [CLI, '--check', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd, timeout: 30_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
