// Owns the line-endings addon (native/line-endings.c, built into
// build/Release/smtpipe_line_endings.node): the only module that loads it. Without it
// (not built, not Linux) the JavaScript scans serve, with the same results, only slower.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { javascriptScans, type LineEndingScans } from './line-endings.js';

/** From dist/workers/ up to the package root, where node-gyp builds. */
const ADDON_FILE = fileURLToPath(new URL('../../build/Release/smtpipe_line_endings.node', import.meta.url));

/** The C scans, or null with the reason they could not be loaded. */
export function loadNativeScans(): { readonly scans: LineEndingScans; readonly problem: null } | { readonly scans: null; readonly problem: string } {
  try {
    return { scans: createRequire(import.meta.url)(ADDON_FILE) as LineEndingScans, problem: null };
  } catch (err) {
    // Only the first line: Node appends the require stack.
    return { scans: null, problem: (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '' };
  }
}

/** The fastest scans this thread can have. */
export function bestScans(): LineEndingScans {
  return loadNativeScans().scans ?? javascriptScans;
}
