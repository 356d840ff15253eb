// Readers of the options that decide how a program's exit becomes a reply: `exit_codes`
// (per transport) / `Exit_Codes` (global default) and `reply_from_output`. Pure: values
// only; what they mean is src/delivery/exit-presets.ts's.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { didYouMean } from './suggest.js';
import type { ExitCodePreset, ReplyFromOutput } from './types.js';
import { readText } from './values.js';

export const EXIT_CODE_PRESETS = ['momentum', 'sysexits', 'qmail'] as const satisfies readonly ExitCodePreset[];
export const REPLY_FROM_OUTPUT = ['none', 'stdout', 'stderr'] as const satisfies readonly ReplyFromOutput[];

export function readExitCodePreset(opt: OptionNode, sink: DiagnosticSink): ExitCodePreset | undefined {
  return readChoice(opt, sink, EXIT_CODE_PRESETS);
}

export function readReplyFromOutput(opt: OptionNode, sink: DiagnosticSink): ReplyFromOutput | undefined {
  return readChoice(opt, sink, REPLY_FROM_OUTPUT);
}

function readChoice<T extends string>(opt: OptionNode, sink: DiagnosticSink, choices: readonly T[]): T | undefined {
  const text = readText(opt, sink)?.toLowerCase();
  if (text === undefined) return undefined;
  const known = choices.find((choice) => choice === text);
  if (known !== undefined) return known;
  const expected = choices.map((c) => JSON.stringify(c));
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: expected ${expected.slice(0, -1).join(', ')} or ${expected.at(-1) ?? ''}, got ${JSON.stringify(text)}${didYouMean(text, choices)}`,
  );
  return undefined;
}
