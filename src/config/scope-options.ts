// Sorts the items of a scope smtpipe validates into known options (by lower-cased
// name) and nested scopes, reporting unknown, unsupported and repeated options. It
// knows no option's meaning: the scope's schema module reads the values.

import type { ItemNode, OptionNode, ScopeNode } from './ast.js';
import { ConfigCode } from './codes.js';
import { formatPosition, type DiagnosticSink } from './diagnostics.js';
import { didYouMean } from './suggest.js';

export interface ScopeRules {
  /** How the scope is named in messages, e.g. `pipe_transport "demo"`. */
  readonly label: string;
  /** Options this scope accepts, in their documented spelling. */
  readonly known: readonly string[];
  /** Documented Momentum options accepted with a warning and then ignored. */
  readonly unsupported?: readonly string[];
  /** Momentum options refused with an error that says what to write instead (lower-cased name -> advice). */
  readonly refused?: ReadonlyMap<string, string>;
}

export interface GatheredScope {
  /** Keyed by lower-cased name; the first of a repeated option (later ones are errors). */
  readonly options: ReadonlyMap<string, OptionNode>;
  readonly scopes: readonly ScopeNode[];
}

export function gatherOptions(items: readonly ItemNode[], rules: ScopeRules, sink: DiagnosticSink): GatheredScope {
  const known = new Set(rules.known.map((n) => n.toLowerCase()));
  const unsupported = new Set((rules.unsupported ?? []).map((n) => n.toLowerCase()));
  const options = new Map<string, OptionNode>();
  const scopes: ScopeNode[] = [];
  for (const item of items) {
    // include nodes are spliced away by include.ts before any schema runs.
    if (item.kind === 'scope') scopes.push(item);
    if (item.kind !== 'option') continue;
    const advice = rules.refused?.get(item.key);
    if (advice !== undefined) {
      sink.error(ConfigCode.REFUSED_OPTION, item.position, `${item.name} in ${rules.label}: ${advice}`);
      continue;
    }
    if (unsupported.has(item.key)) {
      sink.warn(
        ConfigCode.UNSUPPORTED_OPTION,
        item.position,
        `${item.name} in ${rules.label} is a Momentum option smtpipe does not implement yet; ignored`,
      );
      continue;
    }
    if (!known.has(item.key)) {
      const hint = didYouMean(item.name, [...rules.known, ...(rules.unsupported ?? [])]);
      sink.error(ConfigCode.UNKNOWN_OPTION, item.position, `unknown option "${item.name}" in ${rules.label}${hint}`);
      continue;
    }
    const first = options.get(item.key);
    if (first !== undefined) {
      sink.error(
        ConfigCode.DUPLICATE,
        item.position,
        `${item.name} is set twice in ${rules.label} (first at ${formatPosition(first.position)})`,
      );
      continue;
    }
    options.set(item.key, item);
  }
  return { options, scopes };
}
