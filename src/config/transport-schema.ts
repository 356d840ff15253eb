// `pipe_transport "name" { ... }` -> ParsedTransport, validated strictly against the
// rows of transport-options.ts, with their defaults. It never runs or expands anything,
// nor looks at the host: accounts.ts resolves user/group and checks directory.

import type { ParsedTransport, SourcePosition, TransportPlaces } from './types.js';
import type { OptionNode, ScopeNode } from './ast.js';
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
  /** Whether exit_codes was written; if not, the global Exit_Codes replaces the default. */
  readonly exitCodesWritten: boolean;
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
  const { program, domains, exitCodes, ...plain } = resolveOptions(TRANSPORT_OPTIONS, [readOptions(options, TRANSPORT_OPTIONS, sink)]);
  checkCapturedOutput(label, plain, options, sink);
  const config: ParsedTransport = {
    name,
    programName: program?.text ?? '',
    program: program?.template ?? { path: '', args: [], singleRecipient: false },
    ...plain,
    // Filled in from the global Exit_Codes by schema.ts when the transport does not say.
    exitCodes: exitCodes ?? 'momentum',
    domains: (domains ?? []).map((x) => x.domain),
    places: placesOf(options),
    position: scope.position,
  };
  return { config, domainPositions: (domains ?? []).map((x) => x.position), exitCodesWritten: exitCodes !== null };
}

function placesOf(options: ReadonlyMap<string, OptionNode>): TransportPlaces {
  const places: { -readonly [K in keyof TransportPlaces]: TransportPlaces[K] } = {};
  for (const [field, option] of [['programName', 'program_name'], ['outputFile', 'output_file'], ['errorFile', 'error_file']] as const) {
    const at = options.get(option)?.value.position;
    if (at !== undefined) places[field] = at;
  }
  return places;
}

/**
 * reply_from_output reads a stream through a pipe of the worker's, so that stream cannot
 * also go to a file: one of the two would have to be dropped, or copied by the worker
 * (written as the daemon, not in the program's identity). Refused instead.
 */
function checkCapturedOutput(
  label: string,
  t: Pick<ParsedTransport, 'replyFromOutput' | 'outputFile' | 'errorFile'>,
  options: ReadonlyMap<string, OptionNode>,
  sink: DiagnosticSink,
): void {
  const file = t.replyFromOutput === 'stdout' ? t.outputFile : t.replyFromOutput === 'stderr' ? t.errorFile : null;
  if (file === null) return;
  const option = t.replyFromOutput === 'stdout' ? 'output_file' : 'error_file';
  const position = options.get('reply_from_output')?.value.position ?? options.get(option)?.position;
  if (position === undefined) return;
  sink.error(
    ConfigCode.INVALID_VALUE,
    position,
    `${label}: reply_from_output = "${t.replyFromOutput}" reads the program's ${t.replyFromOutput}, which ${option} sends to a file; set one or the other`,
  );
}
