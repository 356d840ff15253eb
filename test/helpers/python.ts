// Python's smtplib as a real client: a script run by python3 with its arguments in
// sys.argv[1:]. Asynchronous, so a daemon in this process answers meanwhile.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';

/** Whether python3 runs here (CI installs it; tests skip without it, saying so). */
export const hasPython = spawnSync('python3', ['-c', 'import smtplib'], { stdio: 'ignore' }).status === 0;

/** Runs `script` with `args` as sys.argv[1:]; resolves with its stdout once it exited 0. */
export async function runPython(script: string, ...args: Array<string | number>): Promise<string> {
  const child = spawn('python3', ['-c', script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(status, 0, 'the python script succeeded');
  return out;
}

/** The queue ID of a `250 2.0.0 Ok: queued as ID` reply. */
export function queueIdOf(line: string): string {
  const id = /queued as ([0-9A-Z]+)/.exec(line)?.[1];
  assert.ok(id, line);
  return id;
}
