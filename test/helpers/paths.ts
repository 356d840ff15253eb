// Paths for tests, which run from dist/test/**: fixtures stay in the source tree.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Absolute path of a file under test/fixtures/. */
export function fixture(...parts: string[]): string {
  return path.join(repoRoot, 'test', 'fixtures', ...parts);
}
