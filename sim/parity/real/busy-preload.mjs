// Preloaded into the real gateway (`node --import busy-preload.mjs bin/odin.mjs serve`) by the parity
// suite's load-brake row, so the gateway's own code stays untouched: on SIGUSR2 (sent by clients.mjs as it
// starts) the event loop runs one long synchronous task of PARITY_BUSY_MS, as server.mjs does for the
// plain server. Its first act is to create the flag file PARITY_BUSY_FLAG, which the client waits for
// before connecting: on a loaded machine the signal's handler may run late, and a client that started
// before the spell would meet an idle loop the lab does not have. Only the parity suite loads this file,
// inside its private network namespace.
import { writeFileSync } from 'node:fs';

const busyMs = Number(process.env.PARITY_BUSY_MS ?? 0);
const busyAfterMs = Number(process.env.PARITY_BUSY_AFTER_MS ?? 0);
const flag = process.env.PARITY_BUSY_FLAG ?? '';
process.on('SIGUSR2', () => {
  setTimeout(() => {
    const until = Date.now() + busyMs;
    if (flag !== '') writeFileSync(flag, '');
    while (Date.now() < until); // the busy event loop: deliberately synchronous
  }, busyAfterMs);
});
