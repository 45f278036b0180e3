// A worker's end of the primary's dispatch (dispatch.ts): sockets arrive over IPC as message handles and
// enter the worker's HTTP server as if it had accepted them; the worker counts the ones still open and
// reports the count, so that the primary's estimate follows closes as well as hand-offs.
import type { Server } from 'node:http';
import { Socket, type AddressInfo } from 'node:net';
import type { HandedConnections } from '../server.js';
import { isClusterMessage, LOAD_REPORT_MS } from './messages.js';

export function handedConnections(bound: AddressInfo, report: (open: number) => void): HandedConnections {
  return {
    bound,
    attach(server: Server): void {
      let open = 0;
      let reported = 0;
      process.on('message', (message: unknown, handle: unknown) => {
        if (!isClusterMessage(message) || message.op !== 'connection') return;
        // A hand-off whose socket closed on the way arrives without one.
        if (!(handle instanceof Socket)) return;
        open++;
        handle.once('close', () => open--);
        server.emit('connection', handle);
      });
      setInterval(() => {
        if (open === reported) return;
        reported = open;
        report(open);
      }, LOAD_REPORT_MS).unref();
    },
  };
}

/** The primary's listening address, given to every worker in its environment; null when absent or malformed. */
export function boundFromEnv(text: string | undefined): AddressInfo | null {
  if (text === undefined) return null;
  try {
    const v = JSON.parse(text) as AddressInfo;
    if (typeof v.address === 'string' && typeof v.family === 'string' && Number.isInteger(v.port)) return v;
  } catch {
    // not ours: treated as absent
  }
  return null;
}
