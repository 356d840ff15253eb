// Where things are, from the compiled file's point of view (dist/bench/compare/): the
// repository root, the built daemon and fixtures, the shell scripts that stay in bench/.

import { fileURLToPath } from 'node:url';

const at = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export const REPO_ROOT = at('../../../');
export const SMTPIPE_CLI = at('../../src/ops/cli.js');
export const CEILING_SERVER = at('./servers/ceiling.js');
export const NAIVE_SERVER = at('./servers/naive.js');
export const NAIVE_NATIVE_SERVER = at('./servers/naive-native.js');
export const STDIN_BANDWIDTH_JS = at('./stdin-bandwidth.js');
/** The spawner engineer's loop (bench/spawn-loop.ts), used for the small-stdin spawn limits. */
export const SHARED_SPAWN_LOOP_JS = at('../spawn-loop.js');
export const SPAWN_LOOP_C = at('../../../bench/compare/spawn-loop.c');
/** The resources group's program that sleeps before reading its stdin. */
export const SLOW_READER_SH = at('../../../bench/compare/slow-reader.sh');
/** The held-large group's program: waits to be released, then hashes its stdin. */
export const HELD_READER_SH = at('../../../bench/compare/held-reader.sh');
export const POSTFIX_SETUP = at('../../../bench/postfix/setup.sh');
export const HARAKA_SETUP = at('../../../bench/haraka/setup.sh');
/** Haraka is installed here, outside the repository, and kept between runs. */
export const HARAKA_SCRATCH = '/var/tmp/smtpipe-bench-haraka';
