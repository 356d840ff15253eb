// Builds test/fixtures/programs/setuid-root-sleep.c into a setuid-root program, for tests
// of a daemon running as `nobody` next to a setuid delivery agent. Needs root and gcc.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture } from './paths.js';

/** Compiles it into a new directory any user may enter; the caller removes `dir`. */
export function installSetuidHelper(): { readonly dir: string; readonly file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-setuid-'));
  chmodSync(dir, 0o755);
  const file = path.join(dir, 'setuid-root-sleep');
  execFileSync('gcc', ['-O2', '-Wall', '-o', file, fixture('programs', 'setuid-root-sleep.c')], { stdio: 'inherit' });
  chmodSync(file, 0o4755);
  return { dir, file };
}

/** uid and gid of `nobody`. */
export function nobody(): { readonly uid: number; readonly gid: number } {
  const [, , uid, gid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
