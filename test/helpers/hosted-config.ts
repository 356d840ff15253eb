// Shipped configs as they would be on a host of their own, for tests that load them with
// loadConfig (which checks programs and output files): paths only a production host has,
// or a shared /tmp file another run may own, replaced by fixture programs and a scratch dir.
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fixture, repoRoot } from './paths.js';

export interface HostedConfig {
  /** The copy to load. */
  readonly file: string;
  /** The scratch directory that stands for the output files' directories. */
  readonly dir: string;
}

/**
 * `source` copied into a scratch directory, each `[from, to]` replaced; `{dir}` in a `to`
 * is that directory. The directory is world-writable (sticky): test host facts may name
 * uids (1000, nobody) other than the one running the tests, and their runs create files.
 */
export async function hostedCopy(source: string, replacements: ReadonlyArray<readonly [string, string]>): Promise<HostedConfig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-hosted-'));
  await chmod(dir, 0o1777);
  let text = await readFile(source, 'utf8');
  for (const [from, to] of replacements) text = text.replaceAll(from, to.replaceAll('{dir}', dir));
  const file = path.join(dir, path.basename(source));
  await writeFile(file, text);
  return { file, dir };
}

/** config/smtpipe.conf as shipped (its demo writes under the working directory, nothing to replace). */
export function hostedBundledConfig(): Promise<HostedConfig> {
  return hostedCopy(path.join(repoRoot, 'config', 'smtpipe.conf'), []);
}

/** test/fixtures/config/ecelerity-full.conf with its mailman and archive programs and log directory on this host. */
export function hostedFullConfig(): Promise<HostedConfig> {
  const program = fixture('programs', 'exit-with.sh');
  return hostedCopy(fixture('config', 'ecelerity-full.conf'), [
    ['/usr/lib/mailman/mail/mailman', program],
    ['/usr/local/bin/archive', program],
    ['/var/log/smtpipe/', '{dir}/'],
  ]);
}
