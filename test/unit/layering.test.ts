// The import-direction lint (eslint.config.js) on tiny sources placed, by path, in each
// layer: a wrong-way import must fail with the layering rule, the allowed ones must pass,
// so the rule cannot silently disappear or grow to block the real contracts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers/paths.js';

const RULE = '@typescript-eslint/no-restricted-imports';

/** [where the source pretends to live, its import, whether the layering rule refuses it] */
const cases: ReadonlyArray<readonly [file: string, source: string, refused: boolean]> = [
  ['src/smtp/fixture.ts', "import { createDispatcher } from '../delivery/dispatcher.js';", true],
  ['src/smtp/fixture.ts', "import type { Router } from '../routing/router.js';", true],
  ['src/smtp/fixture.ts', "import { createDeliveryPool } from '../pool/pool.js';", true],
  ['src/smtp/fixture.ts', "import { hardenProcess } from '../ops/hardening.js';", true],
  ['src/smtp/fixture.ts', "import type { ListenerConfig } from '../config/types.js';", false],
  ['src/config/fixture.ts', "import type { SmtpReply } from '../smtp/reply.js';", true],
  ['src/routing/fixture.ts', "import { createMailPolicy } from '../delivery/mail-policy.js';", true],
  ['src/delivery/fixture.ts', "import { createDeliveryPool } from '../pool/pool.js';", true],
  ['src/delivery/fixture.ts', "import type { DeliveryPool } from '../pool/pool.js';", false],
  ['src/delivery/fixture.ts', "import { formatReply } from '../smtp/reply.js';", false],
  ['src/delivery/fixture.ts', "import { createRouter } from '../routing/router.js';", false],
  ['src/delivery/fixture.ts', "import { createMetrics } from '../ops/metrics.js';", true],
  ['src/smtp/fixture.ts', "import { createMessageStore } from '../message/message-store.js';", true],
  ['src/message/fixture.ts', "import type { SmtpReply } from '../smtp/reply.js';", true],
  ['src/message/fixture.ts', "import type { LineEnding } from '../config/types.js';", false],
  ['src/delivery/fixture.ts', "import type { MessageStore } from '../message/message-store.js';", false],
  ['src/pool/fixture.ts', "import type { SmtpReply } from '../smtp/reply.js';", true],
  ['src/pool/fixture.ts', "import { mapOutcomeToReply } from '../delivery/outcome-reply.js';", true],
  ['src/pool/fixture.ts', "import { probeSpawnAddon } from '../../native/addons.js';", false],
  ['src/pool/fixture.ts', "import { createSpawner } from '../../workers/spawners/select.js';", true],
  ['src/ops/fixture.ts', "import { createSpawner } from '../../workers/spawners/select.js';", true],
  ['src/ops/fixture.ts', "import { createDispatcher } from '../delivery/dispatcher.js';", false],
  ['workers/fixture.ts', "import type { DeliveryTask } from '../src/pool/task.js';", false],
  ['workers/spawners/fixture.ts', "import type { RunAs } from '../../src/config/types.js';", false],
  ['workers/fixture.ts', "import { something } from '../src/pool/task.js';", true],
  ['workers/fixture.ts', "import type { DeliveryPool } from '../src/pool/pool.js';", true],
  ['workers/spawners/fixture.ts', "import { resolveSpawner } from '../../src/pool/spawner.js';", true],
  ['workers/fixture.ts', "import { loadSpawnAddon } from '../native/addons.js';", false],
  ['native/fixture.ts', "import type { SpawnerName } from '../src/pool/task.js';", true],
];

const eslint = new ESLint({ cwd: repoRoot });

for (const [file, source, refused] of cases) {
  test(`${file}: ${source} is ${refused ? 'refused' : 'allowed'}`, async () => {
    // The name must be used, or no-unused-vars would be the only finding.
    const name = /import (?:type )?\{ (\w+) \}/.exec(source)?.[1] ?? '';
    const text = `${source}\nexport const used: unknown = ${source.startsWith('import type') ? 'null as unknown as ' + name : name};\n`;
    const [result] = await eslint.lintText(text, { filePath: `${repoRoot}${file}` });
    const layering = (result?.messages ?? []).filter((message) => message.ruleId === RULE);
    assert.equal(layering.length > 0, refused, JSON.stringify(result?.messages));
    // An error, not a warning: `npm run lint` (and so `npm test`) fails on it.
    for (const message of layering) assert.equal(message.severity, 2);
  });
}
