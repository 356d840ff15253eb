// Which spawners the tests exercise. SMTPIPE_TEST_SPAWNER=child_process runs every test as
// on a machine where the native addon did not build (CI does one such run); =native runs
// only the native one. Unset: contract tests run against both, the others against native,
// and a missing addon fails them (never a silent skip). Only test helpers read it.
import type { SpawnerName } from '../../src/pool/spawner.js';

const NAMES: readonly SpawnerName[] = ['native', 'child_process'];

/** The forced spawner, if SMTPIPE_TEST_SPAWNER names one; a wrong value is a test-setup error. */
export function forcedTestSpawner(): SpawnerName | undefined {
  const value = process.env['SMTPIPE_TEST_SPAWNER'];
  if (value === undefined || value === '') return undefined;
  const name = NAMES.find((n) => n === value);
  if (name === undefined) throw new Error(`SMTPIPE_TEST_SPAWNER must be ${NAMES.join(' or ')}, got ${JSON.stringify(value)}`);
  return name;
}

/** Every spawner a contract test must pass with. */
export function spawnersUnderTest(): readonly SpawnerName[] {
  const forced = forcedTestSpawner();
  return forced === undefined ? NAMES : [forced];
}

/** The one spawner for tests that exercise something else (deliver, the pool, SMTP). */
export function testSpawner(): SpawnerName {
  return forcedTestSpawner() ?? 'native';
}
