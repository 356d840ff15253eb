// Property: the C line-ending scans (native/line-endings.c) give the JavaScript ones'
// results byte for byte: the same length (or the same refusal) and the same bytes, for
// inputs thick with CR, LF and CRLF, under both Bare_Newlines policies. The addon is built
// by `npm ci`; a missing one fails here, never a silent skip.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { javascriptScans } from '../../src/message/line-endings.js';
import { loadLineEndingsAddon } from '../../native/addons.js';

const loaded = loadLineEndingsAddon();

const TOKENS = ['\r', '\n', '\r\n', '\r\r\n', '\n\r', 'a', 'line of text', '.'];
const textish = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => Buffer.from(t.join(''), 'latin1'));
const binary = fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b));

function sameResults(input: Buffer, normalize: boolean): void {
  assert.ok(loaded.ok, `the line-endings addon must load: ${loaded.ok ? '' : loaded.reason}`);
  const viaC = Buffer.from(input);
  const viaJs = Buffer.from(input);
  const lengthC = loaded.addon.toLf(viaC, normalize);
  const lengthJs = javascriptScans.toLf(viaJs, normalize);
  assert.equal(lengthC, lengthJs, JSON.stringify(input.toString('latin1')));
  // The whole buffer, stale tail and refusals included: both rewrite it the same way.
  assert.ok(viaC.equals(viaJs), JSON.stringify(input.toString('latin1')));
  assert.equal(loaded.addon.hasBareNewline(input), javascriptScans.hasBareNewline(input));
}

test('C toLf and hasBareNewline = JavaScript on text thick with line endings', () => {
  fc.assert(fc.property(textish, fc.boolean(), sameResults), { seed: 0x1e01, numRuns: 3000 });
});

test('C toLf and hasBareNewline = JavaScript on arbitrary bytes', () => {
  fc.assert(fc.property(binary, fc.boolean(), sameResults), { seed: 0x1e02, numRuns: 2000 });
});

test('C toLf on a 1 MB message of CRLF lines, and on views that do not start at 0', () => {
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  const wire = Buffer.from('header: x\r\n\r\n'.concat('body line\r\n'.repeat(100_000)), 'latin1');
  const viaC = Buffer.from(wire);
  const length = loaded.addon.toLf(viaC, false);
  assert.equal(viaC.subarray(0, length).toString('latin1'), wire.toString('latin1').replaceAll('\r\n', '\n'));
  const framed = Buffer.from('XX\r\nab\r\nYY', 'latin1');
  const view = framed.subarray(2, 8); // "\r\nab\r\n"
  assert.equal(loaded.addon.toLf(view, false), 4);
  assert.equal(framed.toString('latin1'), 'XX\nab\n\r\nYY', 'only the view was rewritten (its last 2 bytes are now stale)');
  assert.throws(() => loaded.addon.toLf('text' as unknown as Uint8Array, false), TypeError);
});
