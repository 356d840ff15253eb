// Spool_Directory as the host has it now: an existing directory smtpipe may create files
// in. Checked by --check, start-up and reload; the daemon then creates one spool file there
// (src/message/spool-file.ts) before it listens, which proves the rest.

import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { SpoolConfig } from './types.js';

export async function checkSpoolDirectory(spool: SpoolConfig, displayFile: string, sink: DiagnosticSink): Promise<void> {
  const problem = await directoryProblem(spool.directory);
  if (problem === null) return;
  // The default is written nowhere: point at the file, and say where the value came from.
  const at = spool.directoryPosition ?? { file: displayFile, line: 1, column: 1 };
  const which = spool.directoryPosition === null ? 'Spool_Directory (default: TMPDIR, else /var/tmp)' : 'Spool_Directory';
  sink.error(ConfigCode.DIRECTORY, at, `${which}: ${problem}`);
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
