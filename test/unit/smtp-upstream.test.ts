// The canary for smtp-server upgrades: PipeConnection, PipeServer and PipeStream override
// upstream internals, and PipeStream replaces _feedDataStream outright. An upgrade that
// moves or changes them fails here (and no PipeServer can be built) instead of silently
// dropping an upstream fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { PipeServer } from '../../src/smtp/connection.js';
import { assertUpstreamShape } from '../../src/smtp/upstream-shape.js';

test('the installed smtp-server still has every internal smtpipe adapts, and _feedDataStream is the reviewed one', () => {
  assert.doesNotThrow(() => assertUpstreamShape());
});

test('every PipeServer checks upstream when it is built (the bench fixtures too, not only the daemon)', () => {
  // What an upgrade that renamed one internal would look like: put back in `finally`.
  const prototype = SMTPConnection.prototype as unknown as Record<string, unknown>;
  const original = prototype['connectionReady'];
  prototype['connectionReady'] = undefined;
  try {
    assert.throws(() => new PipeServer({ smtp: { logger: false }, greetingPauseMs: 0 }), {
      code: 'ERR_SMTP_UPSTREAM_CHANGED',
      message: /SMTPConnection\.connectionReady/,
    });
  } finally {
    prototype['connectionReady'] = original;
  }
  assert.doesNotThrow(() => new PipeServer({ smtp: { logger: false }, greetingPauseMs: 0 }));
});

test('smtp-server adds no enhanced status codes to our replies, whatever it is given or defaults to', () => {
  const server = new PipeServer({ smtp: { logger: false, hideENHANCEDSTATUSCODES: false }, greetingPauseMs: 0 });
  assert.equal(server.options.hideENHANCEDSTATUSCODES, true);
});
