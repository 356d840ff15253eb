// This thread's spawner. The pool chooses on the main thread (self-test, then the Spawner
// option) and passes the name in workerData; deliver.ts applies it when the worker loads.
// Outside a pool (tests, tools) the portable child_process spawner is the default. Holds
// one piece of per-thread state, set once at start-up; decides nothing itself.

import type { SpawnerName } from '../../src/pool/spawner.js';
import { childProcessSpawner } from './child-process.js';
import type { ProgramSpec, Spawner, StartResult } from './contract.js';
import { createNativeSpawner, loadAddon } from './native.js';

export { errorCode, type ProgramSpec } from './contract.js';

let current: Spawner = childProcessSpawner;

/** Throws when `native` cannot load here: the main thread's self-test said it could. */
export function useSpawner(name: SpawnerName): Spawner {
  if (name === current.name) return current;
  if (name === 'child_process') {
    current = childProcessSpawner;
  } else {
    const loaded = loadAddon();
    if (!loaded.ok) throw new Error(`native spawner unavailable in this thread: ${loaded.reason}`);
    current = createNativeSpawner(loaded.addon);
  }
  return current;
}

export function startProgram(spec: ProgramSpec): Promise<StartResult> {
  return current.startProgram(spec);
}
