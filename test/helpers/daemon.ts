// Starts a real daemon in this process from a real config file, with its log lines
// captured, for integration tests. Listen on port 0: the kernel picks the port.
import { EventEmitter } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/ops/daemon.js';
import { closeLeakingFds } from '../../src/ops/inherited-fds.js';
import { forcedTestSpawner } from './spawner.js';

// What the CLI does at start-up, once per test process.
closeLeakingFds();

export interface TestDaemon {
  daemon: Daemon;
  port: number;
  dir: string;
  /** The config file the daemon loaded (and reloads). */
  file: string;
  logs: Array<Record<string, unknown>>;
  /** The first line logged from now on that `matches`; rejects after `timeoutMs`. */
  nextLog(matches: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** A scratch directory for a test's files. */
export function scratchDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'smtpipe-test-'));
}

/**
 * `conf` may use {{dir}} for the scratch directory. Its transports should say
 * allow_root = true unless they test privileges: as root (CI) a program would otherwise
 * run as nobody, who cannot reach the fixtures in the checkout nor {{dir}}.
 */
export async function startDaemon(conf: string, dir?: string): Promise<TestDaemon> {
  const workDir = dir ?? (await scratchDir());
  const file = path.join(workDir, 'smtpipe.conf');
  await writeConfig(file, conf, workDir);
  const result = await loadConfig(file);
  if (!result.ok) throw new Error(`test config invalid:\n${result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n')}`);
  const logs: Array<Record<string, unknown>> = [];
  const lines = new EventEmitter();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        lines.emit('line', entry);
      }
      callback();
    },
  });
  const daemon = createDaemon(result.config, pino({ level: 'info' }, sink), { loadConfig: () => loadConfig(file) });
  const [address] = await daemon.start();
  if (!address) throw new Error('no listener');
  return {
    daemon,
    port: address.port,
    dir: workDir,
    file,
    logs,
    nextLog(matches, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          lines.off('line', onLine);
          reject(new Error(`no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        const onLine = (entry: Record<string, unknown>) => {
          if (!matches(entry)) return;
          clearTimeout(timer);
          lines.off('line', onLine);
          resolve(entry);
        };
        lines.on('line', onLine);
      });
    },
    async stop() {
      await daemon.stop();
    },
  };
}

/** Writes `conf` as startDaemon does ({{dir}}, forced spawner): also for reload tests. */
export async function writeConfig(file: string, conf: string, dir: string): Promise<void> {
  // SMTPIPE_TEST_SPAWNER=child_process runs everything as where the addon did not build.
  const forced = forcedTestSpawner();
  await writeFile(file, (forced ? `Spawner = ${forced}\n` : '') + conf.replaceAll('{{dir}}', dir));
}

/** Waits until `predicate` holds, polling; fails after `timeoutMs`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, timeoutMs = 10000): Promise<void> {
  const start = Date.now();
  while (!(await predicate())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
