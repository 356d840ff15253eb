// smtp-load's public API for programs that drive it: the -j result's shape, the reply
// parser, and the discarding sink. The command itself is cli.ts; nothing here runs on import.

export type { JsonResult } from './report.js';
export { ReplyParser } from './reply-parser.js';
export { startRawSink, type RawSink, type RawSinkOptions } from './raw-sink.js';
