// A tiny tmpfs for tests that need a disk to fill up (ENOSPC) for real. Needs root (CI runs
// as root); where mounting is not permitted the caller skips and says why.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  readonly dir: string;
  unmount(): Promise<void>;
}

/** A tmpfs of `kib` KiB, or the reason none could be mounted. */
export async function mountTmpfs(kib: number): Promise<Tmpfs | string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'smtpipe-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  }
  return {
    dir,
    async unmount() {
      await run('umount', ['-l', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
