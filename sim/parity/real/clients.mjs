// The parity suite's client process: opens connections the way a load tool does — raw TCP, then an HTTP
// Upgrade as soon as the socket connects — and records what each one saw: "open" (101), "http-NNN",
// "eof" (FIN before any response), or the errno (ECONNRESET, ETIMEDOUT, EADDRNOTAVAIL, EADDRINUSE,
// EMFILE, …). Raw sockets so FIN and RST stay apart; a Node `ws` client would call both ECONNRESET.
// Usage: node clients.mjs '{"host":"127.0.0.1","ports":[8080],"srcAddrs":[],"count":100,"spacingMs":2,
//   "settleMs":3000,"rounds":1,"pauseMs":0,"path":"/ws"}'
// User i connects from srcAddrs[i mod n] (bound first: Node's localAddress binds before connect) to
// ports[⌊i / n⌋ mod m], as the lab's load robots do. After `settleMs` (or once every attempt has ended)
// it closes everything (the client closes first: its ports go to TIME_WAIT) and, if rounds > 1, starts
// again after `pauseMs`. Prints one JSON line: per round, outcomes by kind and connect latencies (ms).
import { existsSync } from 'node:fs';
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
/** Must equal server.mjs's LEAD_MS. */
const LEAD_MS = 200;
const ports = spec.ports ?? [8080];
const srcs = spec.srcAddrs ?? [];
const upgrade = (host, i) =>
  `GET ${spec.path ?? '/ws'}${spec.query ? `?${spec.query.replace('{i}', String(i))}` : ''} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

function one(i, t0) {
  return new Promise((resolve) => {
    const opts = { host: spec.host ?? '127.0.0.1', port: ports[Math.floor(i / Math.max(1, srcs.length)) % ports.length] };
    if (srcs.length > 0) opts.localAddress = srcs[i % srcs.length];
    let done = false;
    let connectMs = -1;
    let sock;
    const finish = (kind) => {
      if (done) return;
      done = true;
      resolve({ kind, connectMs, sock });
    };
    try {
      sock = net.connect(opts);
    } catch (e) {
      finish(e.code ?? String(e));
      return;
    }
    sock.on('connect', () => {
      connectMs = performance.now() - t0;
      sock.write(upgrade(opts.host, i));
    });
    let head = '';
    sock.on('data', (b) => {
      head += b.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) finish(m[1] === '101' ? 'open' : `http-${m[1]}`);
    });
    sock.on('end', () => finish('eof'));
    sock.on('error', (e) => finish(e.code ?? e.message));
    sock.on('close', () => finish('closed'));
  });
}

async function round(k) {
  if (k === 0 && process.env.SERVER_PID) {
    // The server starts its busy spell on this signal; give it LEAD_MS to be surely inside it (it extends
    // the spell by as much), so the spell ends busyMs after the first connect, as in the lab.
    process.kill(Number(process.env.SERVER_PID), process.env.SERVER_SIGNAL ?? 'SIGUSR1');
    if (process.env.SERVER_BUSY_FLAG) {
      // The server says when its spell has begun (a loaded machine may take longer than LEAD_MS to run
      // the signal's handler): connect as soon as the flag file exists, at most 5 s from now.
      for (let t = 0; t < 1_000 && !existsSync(process.env.SERVER_BUSY_FLAG); t++) await new Promise((r) => setTimeout(r, 5));
    } else await new Promise((r) => setTimeout(r, LEAD_MS));
  }
  const results = [];
  const started = [];
  for (let i = 0; i < spec.count; i++) {
    started.push(one(i, performance.now()).then((r) => results.push(r)));
    if (spec.spacingMs > 0) await new Promise((r) => setTimeout(r, spec.spacingMs));
  }
  await Promise.race([Promise.all(started), new Promise((r) => setTimeout(r, spec.settleMs ?? 3000))]);
  const outcomes = {};
  for (const r of results) outcomes[r.kind] = (outcomes[r.kind] ?? 0) + 1;
  const pending = spec.count - results.length;
  if (pending > 0) outcomes.pending = pending;
  const connectMs = results
    .filter((r) => r.connectMs >= 0)
    .map((r) => Math.round(r.connectMs))
    .sort((a, b) => a - b);
  for (const r of results) r.sock?.destroySoon?.();
  for (const r of results) r.sock?.end();
  return { outcomes, connectMs };
}

const rounds = [];
for (let k = 0; k < (spec.rounds ?? 1); k++) {
  if (k > 0) await new Promise((r) => setTimeout(r, spec.pauseMs ?? 0));
  rounds.push(await round(k));
}
process.stdout.write(`${JSON.stringify({ rounds })}\n`);
// Give the FINs a moment to leave, then end (pending SYNs die with the process).
setTimeout(() => process.exit(0), 200);
