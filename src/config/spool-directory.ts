// Spool_Directory as the host has it now: an existing directory smtpipe may create files
// in. Checked by --check, start-up and reload; the daemon then creates one spool file there
// (src/message/spool-file.ts) before it listens, which proves the rest.

import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { SpoolConfig } from './types.js';

export async function checkSpoolDirectory(spool: SpoolConfig, sink: DiagnosticSink): Promise<void> {
  const { text, position } = spool.directory;
  const problem = await directoryProblem(text);
  // The default is written nowhere: it points at line 1, and the message says where it came from.
  if (problem !== null) sink.error(ConfigCode.DIRECTORY, position, `Spool_Directory (when not set: TMPDIR, else /var/tmp): ${problem}`);
}

async function directoryProblem(directory: string): Promise<string | null> {
  try {
    const info = await stat(directory);
    if (!info.isDirectory()) return `${directory} is not a directory`;
    await access(directory, constants.W_OK | constants.X_OK);
    return null;
  } catch (err) {
    // Handled: becomes an ERR_CONFIG_DIRECTORY diagnostic.
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    if (code === 'ENOENT') return `${directory} does not exist`;
    if (code === 'EACCES') return `${directory} is not writable by smtpipe`;
    return `${directory} cannot be examined: ${String(err)}`;
  }
}
