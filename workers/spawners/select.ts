// Creates a spawner by name. The pool chooses on the main thread (self-test, then the
// Spawner option) and passes the name in workerData; deliver.ts creates this thread's
// spawner from it once, as the worker loads, and passes it to every run. Holds no state.

import { loadSpawnAddon } from '../../native/addons.js';
import type { SpawnerName } from '../../src/pool/task.js';
import { childProcessSpawner } from './child-process.js';
import type { Spawner } from './contract.js';
import { createNativeSpawner } from './native.js';

/** Throws when `native` cannot load here: the main thread's self-test said it could. */
export function createSpawner(name: SpawnerName): Spawner {
  if (name === 'child_process') return childProcessSpawner;
  const loaded = loadSpawnAddon();
  if (!loaded.ok) throw new Error(`native spawner unavailable in this thread: ${loaded.reason}`);
  return createNativeSpawner(loaded.addon);
}
