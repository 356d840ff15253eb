// The guard of the smtp-server pin: what connection.ts and data-stream.ts override or
// read must still be there, and the _feedDataStream that PipeStream replaces must be the
// reviewed one. PipeServer's constructor calls it; nothing here changes upstream.

import { createHash } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection, socketTimeout } from 'smtp-server/lib/smtp-connection.js';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

/**
 * The first 16 hex digits of the sha256 of upstream SMTPStream._feedDataStream's source,
 * as PipeStream was written against and tested with (smtp-server 3.21.6). PipeStream
 * replaces that method, so an upstream fix to it (smuggling defences live there) must not
 * be dropped silently: on a mismatch, review the change, port it to data-stream.ts, run
 * test/property/data-stream.test.ts, then update this value.
 */
const REVIEWED_FEED_DATA_STREAM = '9d8b903f9a3a6354';
/** The SMTPStream fields PipeStream reads and writes. */
const STREAM_FIELDS = ['_dataMode', '_dataStream', '_maxBytes', 'dataBytes', '_atDataStart', '_continueCallback', '_lastBytes', '_remainder', 'isClosed'];

/** Throws if an smtp-server upgrade removed or changed what connection.ts and data-stream.ts use. */
export function assertUpstreamShape(): void {
  const connection = SMTPConnection.prototype as unknown as Record<string, unknown>;
  const server = SMTPServer.prototype as unknown as Record<string, unknown>;
  const stream = SMTPStream.prototype as unknown as Record<string, unknown>;
  const freshStream = new SMTPStream();
  const missing = [
    ...['_setListeners', 'connectionReady', 'init', 'send', 'close', '_onClose', '_createParser', '_onCommand', 'handler_HELO', 'handler_EHLO', 'handler_AUTH', '_isDisabled', '_parseAddressCommand', '_validateMailParams']
      .filter((m) => typeof connection[m] !== 'function')
      .map((m) => `SMTPConnection.${m}`),
    ...['_write', '_feedDataStream', '_endDataMode', '_countDataBytes'].filter((m) => typeof stream[m] !== 'function').map((m) => `SMTPStream.${m}`),
    ...['connect', '_onError', '_onClientConnect', '_acceptSocket', '_handleProxy', '_upgrade', 'updateSecureContext'].filter((m) => typeof server[m] !== 'function').map((m) => `SMTPServer.${m}`),
    ...STREAM_FIELDS.filter((field) => !(field in freshStream)).map((field) => `SMTPStream#${field}`),
    ...(typeof socketTimeout === 'function' ? [] : ['smtp-connection socketTimeout()']),
    ...(new SMTPServer({ logger: false })._pendingSockets instanceof Map ? [] : ['SMTPServer#_pendingSockets']),
  ];
  const feed = stream['_feedDataStream'];
  if (typeof feed === 'function' && createHash('sha256').update(feed.toString()).digest('hex').slice(0, 16) !== REVIEWED_FEED_DATA_STREAM) {
    missing.push('SMTPStream._feedDataStream as reviewed for src/smtp/data-stream.ts (its source changed)');
  }
  if (missing.length > 0) {
    throw Object.assign(new Error(`smtp-server no longer provides ${missing.join(', ')}: review src/smtp/connection.ts`), {
      code: 'ERR_SMTP_UPSTREAM_CHANGED',
    });
  }
}
