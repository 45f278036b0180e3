// The parity suite's plain Node WebSocket server (a `ws` WebSocketServer, as a user's hand-written server
// would be): listens with the given backlog, optionally keeps its event loop busy for a while once the
// client process signals its start (SIGUSR1; a long synchronous task: nothing is accepted meanwhile),
// and holds every connection.
// Usage: node server.mjs '{"host":"127.0.0.1","ports":[8080],"backlog":511,"busyMs":0,"busyAfterMs":0}'
// (one WebSocketServer per port, on one event loop).
// Prints "ready" once listening, then (on SIGTERM) a JSON line with what it saw.
import { WebSocketServer } from 'ws';

const spec = JSON.parse(process.argv[2] ?? '{}');
/** The client process waits this long after its signal before connecting (clients.mjs LEAD_MS). */
const LEAD_MS = 200;
let opened = 0;
let listening = 0;
const ports = spec.ports ?? [8080];
for (const port of ports) {
  const wss = new WebSocketServer({ host: spec.host ?? '127.0.0.1', port, backlog: spec.backlog ?? 511 });
  wss.on('connection', () => void opened++);
  wss.on('error', (e) => {
    process.stderr.write(`server error ${e.code ?? e.message}\n`);
    process.exit(1);
  });
  wss.on('listening', () => {
    if (++listening === ports.length) ready();
  });
}
function ready() {
  process.stdout.write('ready\n');
}
// The client process signals its first connect (so the busy spell has the same origin as in the lab).
process.on('SIGUSR1', () => {
  const busy = spec.busyMs ?? 0;
  if (busy > 0) {
    setTimeout(() => {
      const until = Date.now() + LEAD_MS + busy;
      while (Date.now() < until); // the busy event loop: deliberately synchronous
    }, spec.busyAfterMs ?? 0);
  }
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ opened })}\n`);
  process.exit(0);
});
