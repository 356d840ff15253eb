import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSpawner, type SpawnerResolution } from '../../src/pool/spawner.js';

const cases: ReadonlyArray<readonly [string, 'auto' | 'native' | 'child_process', string | null, SpawnerResolution]> = [
  ['auto, self-test passes', 'auto', null, { ok: true, report: { name: 'native', requested: 'auto', fallbackReason: null } }],
  ['auto, self-test fails', 'auto', 'no pidfd', { ok: true, report: { name: 'child_process', requested: 'auto', fallbackReason: 'no pidfd' } }],
  ['native, self-test passes', 'native', null, { ok: true, report: { name: 'native', requested: 'native', fallbackReason: null } }],
  ['native, self-test fails', 'native', 'no pidfd', { ok: false, reason: 'Spawner = native, but the native spawner is unavailable: no pidfd' }],
  ['child_process', 'child_process', 'never asked', { ok: true, report: { name: 'child_process', requested: 'child_process', fallbackReason: null } }],
];

for (const [name, requested, probeResult, expected] of cases) {
  test(`resolveSpawner: ${name}`, () => {
    let probes = 0;
    const result = resolveSpawner(requested, () => {
      probes += 1;
      return probeResult;
    });
    assert.deepEqual(result, expected);
    // child_process never loads the addon; the others run the self-test exactly once.
    assert.equal(probes, requested === 'child_process' ? 0 : 1);
  });
}
