// A loopback TCP relay that can be cut and restored — a network partition between one gateway and its NATS
// server while the server keeps taking publishes from others — or pointed at another port: the simplest
// load balancer in front of two gateway instances.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** nats://127.0.0.1:PORT of the relay (the scheme matters only to NATS clients). */
  readonly url: string;
  readonly port: number;
  /** Drops every relayed connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts and relays again, on the same port. */
  restore(): Promise<void>;
  /** New connections go to this port from now on; existing ones stay where they are. */
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(initialTarget: number): Promise<TcpProxy> {
  let targetPort = initialTarget;
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
        }
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const cut = async (): Promise<void> => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    retarget: (next) => {
      targetPort = next;
    },
    cut,
    restore: async () => {
      if (server === null) await listen();
    },
    close: cut,
  };
}
