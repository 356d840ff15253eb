// The option tables of docs/configuration.md, rendered from the option rows: between
// `<!-- options:NAME -->` and `<!-- /options -->` the file is generated (npm run
// docs:config), around them it is written by hand. Pure: text in, text out.

import { GLOBAL_OPTIONS } from './global-options.js';
import { LISTENER_OPTIONS, MOMENTUM_UNSUPPORTED_LISTENER_OPTIONS } from './listener-options.js';
import { fields, type OptionScope } from './option-table.js';
import { TRANSPORT_OPTIONS } from './transport-options.js';

const SECTIONS: Readonly<Record<string, () => string>> = {
  global: () => table(GLOBAL_OPTIONS),
  listener: () => table(LISTENER_OPTIONS),
  transport: () => table(TRANSPORT_OPTIONS),
  'momentum-unsupported': () => `${MOMENTUM_UNSUPPORTED_LISTENER_OPTIONS.map((name) => `\`${name}\``).join(', ')}\n`,
};

const GENERATED = /(<!-- options:([a-z-]+) -->\n)[\s\S]*?(<!-- \/options -->)/g;

/** `doc` with every generated section rendered afresh; an unknown section name is a bug. */
export function renderOptionDocs(doc: string): string {
  return doc.replace(GENERATED, (_all, open: string, name: string, close: string) => {
    const render = SECTIONS[name];
    if (render === undefined) throw new Error(`docs: no generated section "${name}"`);
    return `${open}${render()}${close}`;
  });
}

/** The section names a complete docs/configuration.md holds. */
export const OPTION_DOC_SECTIONS: readonly string[] = Object.keys(SECTIONS);

function table<W, R>(scope: OptionScope<W, R>): string {
  const rows = fields(scope.rows).map(([, spec]) => {
    const byDefault = spec.default === undefined ? (spec.defaultDoc ?? 'none') : `\`${spec.default}\``;
    return [`\`${spec.name}\``, spec.type, spec.unit ?? '', byDefault, spec.doc].map(cell).join(' | ');
  });
  return ['| option | type | unit | default | meaning |', '|---|---|---|---|---|', ...rows.map((r) => `| ${r} |`)].join('\n') + '\n';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}
