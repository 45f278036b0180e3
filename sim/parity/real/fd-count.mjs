// Counts the descriptors a Node process holds before its first client: a plain http server listening on
// an ephemeral port, read from /proc/self/fd once the listener is up and the loop has turned once.
// Run as `node sim/parity/real/fd-count.mjs` or through tsx; prints one JSON line. docs/kernel.md
// ("Descriptors") records the values and how they were taken; sim/kernel/runtime.ts uses them.
import { readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:http';

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  setImmediate(() => {
    const fds = readdirSync('/proc/self/fd');
    const kinds = {};
    for (const fd of fds) {
      let target = '?';
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`)
          .replace(/:\[\d+\]$/, '')
          .replace(/^\/.*$/, 'file');
      } catch {
        target = 'gone'; // the directory handle readdirSync itself used
      }
      kinds[target] = (kinds[target] ?? 0) + 1;
    }
    process.stdout.write(`${JSON.stringify({ node: process.version, fds: fds.length, kinds })}\n`);
    server.close();
  });
});
