// `npm start`'s first step: the demo transport of config/smtpipe.conf appends to
// demo/smtpipe-demo.out in the working directory. Run as root, smtpipe runs programs as
// nobody, who cannot create files in a root-owned checkout; so demo/ is made sticky and
// world-writable (as /tmp is) when root starts the demo. Not part of a production install.
import { chmodSync, mkdirSync } from 'node:fs';
import process from 'node:process';

mkdirSync('demo', { recursive: true });
if (process.getuid?.() === 0) chmodSync('demo', 0o1777);
