// `pipe_transport "name" { ... }` -> ParsedTransport, validated strictly against the
// rows of transport-options.ts, with their defaults. It never runs or expands anything,
// nor looks at the host: accounts.ts resolves user/group and checks directory.

import type { ParsedTransport, SourcePosition } from './types.js';
import type { ScopeNode } from './ast.js';
import { describeScope } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { readOptions, resolveOptions } from './option-table.js';
import { gatherOptions } from './scope-options.js';
import { TRANSPORT_OPTIONS } from './transport-options.js';
import { hasControlCharacter } from './values.js';

export interface BuiltTransport {
  /** Complete even when errors were reported (defaults fill the gaps); used only if none were. */
  readonly config: ParsedTransport;
  /** Where each of config.domains was written, for cross-transport checks. */
  readonly domainPositions: readonly SourcePosition[];
}

export function buildTransport(scope: ScopeNode, sink: DiagnosticSink): BuiltTransport {
  const label = describeScope(scope);
  const name = scope.name?.text ?? '';
  if (scope.name === undefined) {
    sink.error(ConfigCode.MISSING_OPTION, scope.position, `${scope.type} needs a name: ${scope.type} "name" { ... }`);
  } else if (name === '' || /\s/.test(name) || hasControlCharacter(name)) {
    sink.error(
      ConfigCode.INVALID_VALUE,
      scope.name.position,
      `${label}: a transport name may not be empty or hold spaces`,
    );
  }
  const { options, scopes } = gatherOptions(scope.items, { label, known: TRANSPORT_OPTIONS.names }, sink);
  for (const sub of scopes) {
    sink.error(ConfigCode.UNKNOWN_OPTION, sub.position, `${label} has no nested stanza ${describeScope(sub)}`);
  }
  if (!options.has('program_name')) {
    sink.error(ConfigCode.MISSING_OPTION, scope.position, `${label} needs program_name = "/absolute/path/to/program ..."`);
  }
  if (!options.has('domain')) {
    sink.error(
      ConfigCode.MISSING_OPTION,
      scope.position,
      `${label} needs domain = ( "example.com" ... ): the domains it receives mail for`,
    );
  }
  const { program, domains, ...plain } = resolveOptions(TRANSPORT_OPTIONS, [readOptions(options, TRANSPORT_OPTIONS, sink)]);
  const config: ParsedTransport = {
    name,
    programName: program?.text ?? '',
    program: program?.template ?? { path: '', args: [], singleRecipient: false },
    ...plain,
    domains: (domains ?? []).map((x) => x.domain),
    position: scope.position,
  };
  return { config, domainPositions: (domains ?? []).map((x) => x.position) };
}
