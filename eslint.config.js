// Lint for smtpipe, and the layering rule: an import against the direction below fails.
//
// A message flows protocol -> policy -> execution (README "How a message flows"); imports
// go the other way round a contract, and operations composes them all:
//   src/config    the validated Config: imports nothing else of smtpipe
//   src/smtp      protocol: config only; it defines MailPolicy, the hooks it calls, and
//                 knows nothing of delivery, routing, pools or programs
//   src/routing   policy, pure: config and the protocol's types; never delivery
//   src/message   storage of message bytes (memory budget, spool files, line endings):
//                 config types only; it knows no SMTP, transport, pool or program
//   src/delivery  policy: config, routing, smtp (MailPolicy, replies), message; execution
//                 only as `import type` (DeliveryPool, DeliveryTask, PoolOutcome): ops
//                 injects the pool (and the message store)
//   src/pool      execution, main thread: config types and native/addons.ts; never policy
//                 or protocol; reaches workers/ only as a file URL handed to Piscina
//   src/ops       operations, the composition root: anything in src/ and native/
//   workers/      execution, worker threads: `import type` from src/pool/task.ts and
//                 src/config/types.ts only (the thread contract); native/addons.ts
//   native/*.ts   the addon loader, a leaf: nothing from src/ nor workers/
//   no src/ module imports workers/, and nothing below src/ops imports src/ops.
// Checked with @typescript-eslint/no-restricted-imports (regex patterns on the import
// specifier, `allowTypeImports` for the type-only contracts): no plugin or resolver to add.
// Specifiers are relative ('../pool/pool.js'), so the patterns match the folder named
// after the leading '../'s; test/unit/layering.test.ts proves a wrong-way import fails.

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A relative import of one of these top-level src/ folders, at any depth. */
const srcFolder = (...names) => `^(\\.\\./)+(src/)?(${names.join('|')})(/|$)`;
/** A relative import of a top-level folder of the repository (workers, native), from src/. */
const topFolder = (name) => `^(\\.\\./)+${name}(/|$)`;

const NO_WORKERS = { regex: topFolder('workers'), message: 'src/ never imports workers/: the pool hands workers/deliver.js to Piscina by URL; shared types live in src/pool/task.ts.' };
const NO_OPS = { regex: srcFolder('ops'), message: 'Nothing below src/ops imports it: operations composes the layers, not the other way round.' };
const NO_NATIVE = { regex: topFolder('native'), message: 'Only execution (src/pool, workers/) and operations (src/ops) load the native addons.' };

/** Each layer's wrong-way imports (see the header). One block per folder: options do not merge. */
const LAYERS = {
  'src/config/**': [
    { regex: srcFolder('smtp', 'routing', 'delivery', 'pool', 'ops', 'message'), message: 'src/config is the bottom layer: it imports nothing else of smtpipe.' },
    NO_NATIVE,
    NO_WORKERS,
  ],
  'src/smtp/**': [
    { regex: srcFolder('routing', 'delivery', 'pool', 'message'), message: 'Protocol (src/smtp) knows nothing of policy, storage or execution: it calls MailPolicy, which it defines.' },
    NO_OPS,
    NO_NATIVE,
    NO_WORKERS,
  ],
  'src/routing/**': [
    { regex: srcFolder('delivery', 'pool'), message: 'Routing is pure policy: it never imports delivery or execution.' },
    NO_OPS,
    NO_NATIVE,
    NO_WORKERS,
  ],
  'src/message/**': [
    { regex: srcFolder('smtp', 'routing', 'delivery', 'pool'), message: 'Storage (src/message) keeps bytes: it knows no SMTP, routing, delivery or pool.' },
    NO_OPS,
    NO_NATIVE,
    NO_WORKERS,
  ],
  'src/delivery/**': [
    { regex: srcFolder('pool'), allowTypeImports: true, message: 'Policy (src/delivery) calls execution through its interface only: `import type` from src/pool; src/ops injects the pool.' },
    NO_OPS,
    NO_NATIVE,
    NO_WORKERS,
  ],
  'src/pool/**': [
    { regex: srcFolder('smtp', 'routing', 'delivery'), message: 'Execution (src/pool) never imports policy or protocol: outcomes it creates are its own types (src/pool/task.ts).' },
    NO_OPS,
    NO_WORKERS,
  ],
  'src/ops/**': [NO_WORKERS],
  'src/*.ts': [NO_WORKERS, NO_NATIVE],
  'workers/**': [
    // Both entries match src/ imports; a type-only import of the contract passes the first,
    // and `allowTypeImports` on it lets it through the second as well.
    { regex: '^(\\.\\./)+src/(pool/task|config/types)\\.js$', allowTypeImports: true, message: 'workers/ may use only `import type` from src/pool/task.ts and src/config/types.ts.' },
    { regex: '^(\\.\\./)+src/', message: 'workers/ may use only `import type` from src/pool/task.ts and src/config/types.ts: what else a worker needs comes in the task or workerData.' },
  ],
  'native/**': [
    { regex: '^(\\.\\./)+(src|workers)/', message: 'native/addons.ts is a leaf: both sides import it, it imports neither.' },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/', '**/node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...Object.entries(LAYERS).map(([files, patterns]) => ({
    files: [files],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  })),
);
