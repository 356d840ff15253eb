// What the daemon's package ships (`npm pack`): only what runs. The load generator and the
// comparison harness are workspaces of their own, and tests are never shipped (issue 12).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

interface PackEntry {
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

test('npm pack of the daemon: the built daemon, its addon sources, config, deploy and docs; no test, bench or workspace file', () => {
  // --ignore-scripts: the build already ran (npm test builds first); prepare would rebuild.
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' });
  const [entry] = JSON.parse(output) as PackEntry[];
  assert.ok(entry !== undefined);
  const paths = entry.files.map((f) => f.path);
  assert.deepEqual(paths.filter((p) => /(^|\/)(test|bench|packages)\//.test(p) || p.startsWith('dist/test')), []);
  // No TypeScript sources, CI scripts, build outputs or earlier tarballs (issue 16).
  assert.deepEqual(paths.filter((p) => /\.ts$|\.tgz$|^\.ci\/|^build\/|^scripts\//.test(p)), []);
  for (const needed of ['dist/src/ops/cli.js', 'dist/workers/deliver.js', 'dist/native/addons.js', 'native/spawn.c', 'native/line-endings.c', 'native/build.mjs', 'binding.gyp', 'config/smtpipe.conf', 'deploy/smtpipe.service', 'docs/security.md', 'docs/install.md', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(paths.includes(needed), `${needed} is missing from the package`);
  }
});

test('the daemon can be published (no "private"); its workspaces stay private or out of its package', () => {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { private?: boolean; files: string[] };
  assert.equal(manifest.private, undefined);
  const bench = JSON.parse(readFileSync(path.join(repoRoot, 'bench', 'package.json'), 'utf8')) as { private?: boolean; bin?: unknown };
  assert.equal(bench.private, true);
  assert.equal(bench.bin, undefined, 'the bench would be a global command');
});
