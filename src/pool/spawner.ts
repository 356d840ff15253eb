// Chooses, once per pool and on the main thread, how the workers start programs: the
// Spawner option against the native self-test. Pure given the probe; does not log (the
// report goes to the daemon, which has the logger) and does not load anything itself.

import type { PoolConfig } from '../config/types.js';
import type { SpawnerName } from './task.js';

export type { SpawnerName };

export interface SpawnerReport {
  /** What the workers use. */
  readonly name: SpawnerName;
  /** What the Spawner option asked for. */
  readonly requested: PoolConfig['spawner'];
  /** Why `auto` fell back to child_process; null otherwise. Log it once, at start-up. */
  readonly fallbackReason: string | null;
}

export type SpawnerResolution =
  | { readonly ok: true; readonly report: SpawnerReport }
  | { readonly ok: false; readonly reason: string };

/**
 * `probe` is the native self-test (null = usable, else why not); it is not called when
 * child_process is asked for, so that choice never loads the addon.
 */
export function resolveSpawner(requested: PoolConfig['spawner'], probe: () => string | null): SpawnerResolution {
  if (requested === 'child_process') return { ok: true, report: { name: 'child_process', requested, fallbackReason: null } };
  const failure = probe();
  if (failure === null) return { ok: true, report: { name: 'native', requested, fallbackReason: null } };
  if (requested === 'native') return { ok: false, reason: `Spawner = native, but the native spawner is unavailable: ${failure}` };
  return { ok: true, report: { name: 'child_process', requested, fallbackReason: failure } };
}
