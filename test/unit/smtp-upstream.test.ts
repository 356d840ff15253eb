// The canary for smtp-server upgrades: PipeConnection, PipeServer and PipeStream override
// upstream internals, and PipeStream replaces _feedDataStream outright. An upgrade that
// moves or changes them fails here (and the daemon refuses to start) instead of silently
// dropping an upstream fix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertUpstreamShape } from '../../src/smtp/connection.js';

test('the installed smtp-server still has every internal smtpipe adapts, and _feedDataStream is the reviewed one', () => {
  assert.doesNotThrow(() => assertUpstreamShape());
});
