// A kill that fails is not a crash (security review finding 8). smtpipe running as an
// unprivileged user cannot signal a setuid program (procmail -d, maildrop, sudo -u) once
// that program has changed its uid: every kill of the group then fails with EPERM. That
// must be recorded in the outcome and survived: the worker thread lives on, the other
// deliveries on it are untouched, and a program that exited 0 keeps its exit 0 (a 451
// there makes the client send again: a duplicate delivery).
//
// Needs root, to install the setuid-root helper (compiled here from the fixture with gcc)
// and to run the pool as `nobody` in a process of its own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { KillFailureReport } from '../helpers/kill-failure-scenario.js';
import { repoRoot } from '../helpers/paths.js';
import { installSetuidHelper, nobody } from '../helpers/setuid-helper.js';
import { spawnersUnderTest } from '../helpers/spawner.js';

const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: installs a setuid-root helper and switches to nobody' };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-kill-failures-'));
// nobody must reach the scenario directories inside.
chmodSync(tmp, 0o755);
after(() => rmSync(tmp, { recursive: true, force: true }));

async function runScenario(spawner: string, helper: string): Promise<{ code: number | null; stderr: string; report?: KillFailureReport }> {
  const dir = mkdtempSync(path.join(tmp, `${spawner}-`));
  const { uid, gid } = nobody();
  chownSync(dir, uid, gid);
  const module = pathToFileURL(path.join(repoRoot, 'dist', 'test', 'helpers', 'kill-failure-scenario.js')).href;
  const script = `
    import { runKillFailureScenario } from ${JSON.stringify(module)};
    const report = await runKillFailureScenario(process.argv[1], process.argv[2], process.argv[3]);
    process.stdout.write(JSON.stringify(report));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, spawner, helper, dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    uid,
    gid,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return code === 0 ? { code, stderr, report: JSON.parse(stdout) as KillFailureReport } : { code, stderr };
}

describe('kills that reach no process (a setuid program), with smtpipe as nobody', ROOT_ONLY, () => {
  let helper: ReturnType<typeof installSetuidHelper> | undefined;
  before(() => {
    helper = installSetuidHelper();
  });
  after(() => helper && rmSync(helper.dir, { recursive: true, force: true }));

  for (const name of spawnersUnderTest()) {
    describe(name, () => {
      let result: Awaited<ReturnType<typeof runScenario>>;
      before(async () => {
        result = await runScenario(name, helper?.file ?? '');
      });

      test('no worker dies: every run settles with an outcome', () => {
        assert.equal(result.code, 0, result.stderr);
        assert.deepEqual(result.report?.poolErrors, []);
        for (const key of ['ordinary', 'timedOut', 'leftChild'] as const) {
          assert.equal(typeof result.report?.[key], 'object', `${key}: ${JSON.stringify(result.report?.[key])}`);
        }
      });

      test('the ordinary delivery on the same thread is untouched', () => {
        const outcome = result.report?.ordinary;
        assert.ok(typeof outcome === 'object' && outcome.kind === 'exited', JSON.stringify(outcome));
        assert.deepEqual([outcome.exitCode, outcome.stdinError, outcome.killFailures], [0, null, []]);
      });

      test('the setuid program is timed out, with the failed kills recorded', () => {
        const outcome = result.report?.timedOut;
        assert.ok(typeof outcome === 'object' && outcome.kind === 'timed-out', JSON.stringify(outcome));
        // Neither signal reached it: it ran its 1.5 s and exited by itself.
        assert.equal(outcome.signal, null);
        assert.deepEqual(outcome.killFailures.slice(0, 2), ['SIGTERM EPERM', 'SIGKILL EPERM']);
        const ms = result.report?.timedOutMs ?? 0;
        assert.ok(ms >= 1400, `ran ${ms} ms`);
      });

      test('a program that exits 0 leaving a setuid child in its group keeps its exit 0', () => {
        const outcome = result.report?.leftChild;
        assert.ok(typeof outcome === 'object' && outcome.kind === 'exited', JSON.stringify(outcome));
        assert.equal(outcome.exitCode, 0);
        // child_process kills the group after the reap: only the root child is left, EPERM.
        // The native spawner kills it before the reap, while the program's zombie (ours to
        // signal) still counts as a member: the kill succeeds, the root child lives on.
        assert.deepEqual(outcome.killFailures, name === 'child_process' ? ['SIGKILL EPERM'] : []);
      });
    });
  }
});
