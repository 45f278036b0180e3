// One fan-out server in its own process: odin (startServer with the embedded broker, as `odin serve`
// runs it) or the naive hub. Publishes on command and reports its own CPU time (process.cpuUsage), so
// the figure is the server's work alone — the clients live in another process.
//
// Usage (forked by fanout.bench.ts with --import tsx): server-child.ts odin|naive [preframed|send]
import { loadConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { startNaiveHub } from './naive-hub.js';
import { CHANNEL, type FromServer, type ServerVariant, type ToServer } from './messages.js';

interface Target {
  readonly url: string;
  publish(channel: string, data: { round: number; seq: number; price: number; size: number; pad: string }): void;
  close(): Promise<void>;
}

function send(message: FromServer): void {
  process.send?.(message);
}

async function startOdin(writeMode: string): Promise<Target> {
  const flags = Object.entries({
    'server.port': '0',
    'server.host': '127.0.0.1',
    'log.level': 'silent',
    // 500+ handshakes from one address in a second is the benchmark, not an attack.
    'admission.handshakeBurst': '1000000',
    'admission.handshakesPerSecond': '1000000',
    'admission.perIpMax': '1000000',
    // Connecting hundreds of clients at once saturates the loop for a moment; the brake must not refuse them.
    'loadBrake.eventLoopDelayMsMax': '60000',
    'loadBrake.utilizationMax': '1',
    'gateway.heartbeatMs': '3600000',
    'server.writeMode': writeMode,
  }).map(([path, raw]) => ({ path, raw, flag: `bench ${path}` }));
  const { config } = loadConfig({ env: {}, flags });
  const running = await startServer(config);
  return {
    url: `${running.wsUrl}?v=1`,
    publish(channel, data) {
      // The publisher hands over JSON text; POST /publish serialises its parsed body once the same way.
      running.gateway.publish(channel, JSON.stringify(data), (outcome) => {
        if (!outcome.ok) send({ type: 'failed', message: `publish refused: ${outcome.code} ${outcome.message}` });
      });
    },
    close: () => running.close(),
  };
}

async function main(): Promise<void> {
  const variant = process.argv[2] as ServerVariant;
  if (variant !== 'odin' && variant !== 'naive') throw new Error(`usage: server-child.ts odin|naive (got ${String(variant)})`);
  const target: Target = variant === 'odin' ? await startOdin(process.argv[3] ?? 'preframed') : await startNaiveHub();
  let cpu0 = process.cpuUsage();
  let t0 = 0n;
  process.on('message', (message: ToServer) => {
    switch (message.cmd) {
      case 'publish': {
        const pad = 'x'.repeat(message.padBytes);
        cpu0 = process.cpuUsage();
        t0 = process.hrtime.bigint();
        let seq = 0;
        // `batch` events per turn of the event loop; the next batch waits for the loop (and thus for the
        // servers' own per-turn flushes) to come round.
        const step = (): void => {
          const end = Math.min(message.events, seq + message.batch);
          for (; seq < end; seq++) target.publish(CHANNEL, { round: message.round, seq, price: 1.25 + seq / 100, size: 100 + seq, pad });
          if (seq < message.events) setImmediate(step);
          else send({ type: 'published', round: message.round, t0Ns: t0.toString(), publishNs: (process.hrtime.bigint() - t0).toString() });
        };
        step();
        return;
      }
      case 'measure': {
        const used = process.cpuUsage(cpu0);
        send({ type: 'measured', round: message.round, cpuUserUs: used.user, cpuSystemUs: used.system, elapsedNs: (process.hrtime.bigint() - t0).toString() });
        return;
      }
      case 'memory': {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        gc?.();
        const m = process.memoryUsage();
        send({ type: 'memory', tag: message.tag, rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external });
        return;
      }
      case 'stop':
        void target.close().then(() => process.exit(0));
        return;
    }
  });
  send({ type: 'listening', url: target.url, variant });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: String((error as Error).stack ?? error) });
  process.exit(1);
});
