// deploy/smtpipe.service and its root-mode drop-in, read as systemd would merge them, against
// the capability list of docs/operations.md (issue 11 item 14: CAP_KILL was missing, and a
// root daemon without it cannot end the programs it runs as other users).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

interface Service {
  readonly user: string;
  readonly boundingSet: ReadonlySet<string>;
  readonly ambient: ReadonlySet<string>;
  readonly noNewPrivileges: string;
}

const EMPTY: Service = { user: '', boundingSet: new Set(), ambient: new Set(), noNewPrivileges: '' };

/**
 * The [Service] settings this test cares about, applied over `base` as systemd applies a
 * drop-in: capability lists add up, an empty assignment resets; User= is the last one.
 */
function applyUnitFile(base: Service, file: string): Service {
  let { user, noNewPrivileges } = base;
  const boundingSet = new Set(base.boundingSet);
  const ambient = new Set(base.ambient);
  let section = '';
  for (const raw of readFileSync(path.join(repoRoot, file), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      section = line;
      continue;
    }
    if (section !== '[Service]') continue;
    const equals = line.indexOf('=');
    if (equals < 0) continue;
    const key = line.slice(0, equals).trim();
    const value = line.slice(equals + 1).trim();
    if (key === 'User') user = value;
    if (key === 'NoNewPrivileges') noNewPrivileges = value;
    const set = key === 'CapabilityBoundingSet' ? boundingSet : key === 'AmbientCapabilities' ? ambient : null;
    if (set === null) continue;
    if (value === '') set.clear();
    for (const capability of value.split(/\s+/).filter(Boolean)) set.add(capability);
  }
  return { user, boundingSet, ambient, noNewPrivileges };
}

const unprivileged = applyUnitFile(EMPTY, 'deploy/smtpipe.service');
const rootMode = applyUnitFile(unprivileged, 'deploy/smtpipe-root.conf');

test('the unit as shipped: user smtpipe, only CAP_NET_BIND_SERVICE (programs inherit ambient capabilities)', () => {
  assert.equal(unprivileged.user, 'smtpipe');
  assert.deepEqual([...unprivileged.boundingSet], ['CAP_NET_BIND_SERVICE']);
  assert.deepEqual([...unprivileged.ambient], ['CAP_NET_BIND_SERVICE']);
  assert.equal(unprivileged.noNewPrivileges, 'true');
});

test('root mode (unit + drop-in): root, CAP_SETUID/CAP_SETGID to switch users, CAP_KILL to end their programs, nothing ambient', () => {
  assert.equal(rootMode.user, '', 'User= reset: root');
  for (const capability of ['CAP_NET_BIND_SERVICE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_KILL']) {
    assert.ok(rootMode.boundingSet.has(capability), `${capability} missing from CapabilityBoundingSet`);
  }
  assert.deepEqual([...rootMode.ambient], []);
  assert.equal(rootMode.noNewPrivileges, 'true');
});

test('docs/operations.md (systemd) names exactly the capabilities the unit and the drop-in give, each with its reason', () => {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'operations.md'), 'utf8');
  const systemd = doc.slice(doc.indexOf('### systemd'), doc.indexOf('### Containers'));
  const named = new Set(systemd.match(/CAP_[A-Z_]+/g));
  assert.deepEqual([...named].sort(), [...new Set([...unprivileged.boundingSet, ...rootMode.boundingSet])].sort());
  for (const capability of rootMode.boundingSet) {
    assert.match(systemd, new RegExp(`^\\s+- \`(CAP_[A-Z_]+\`, \`)?${capability}\`(, \`CAP_[A-Z_]+\`)?: \\S`, 'm'), `no reason given for ${capability}`);
  }
});
