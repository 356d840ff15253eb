// The display names of the systems and loops: one spelling shared by the scenarios that
// produce results and the pure modules (targets, report, chart) that look them up.

import type { LoopKind } from './types.js';

export const SYSTEM = {
  ceiling: 'ceiling (smtp-server)',
  naive: 'naive (smtp-server + spawn)',
  naiveNative: 'naive (smtp-server + native spawn)',
  smtpipe: (spawner: string) => `smtpipe (${spawner})`,
  smtpSink: 'smtp-sink (postfix)',
  postfixQueued: 'postfix (queued)',
  postfixE2e: 'postfix (e2e)',
  haraka: 'haraka (2 procs)',
  /** smtpipe from the checkout given with --baseline (the baseline group). */
  baseline: 'smtpipe@baseline',
} as const;

export const LOOP_NAME: Readonly<Record<LoopKind, string>> = {
  child_process: 'spawn loop (child_process)',
  native: 'spawn loop (native)',
  'c-posix_spawn': 'C posix_spawn loop',
};

/** The spawner of an smtpipe system name ("smtpipe (native)" -> "native"), or null. */
export function smtpipeSpawner(system: string): string | null {
  const match = /^smtpipe \((.+)\)$/.exec(system);
  return match ? (match[1] as string) : null;
}

/** "2k" -> "2 KB", "10m" -> "10 MB". */
export function sizeLabel(size: string): string {
  return size.replace(/k$/i, ' KB').replace(/m$/i, ' MB');
}
