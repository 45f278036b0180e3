// The two ends of a cluster worker's IPC channel as the IPC broker sees them (IpcEndpoint): the worker's
// process.send / 'message', and the primary's handle on one worker.
import type { Worker } from 'node:cluster';
import type { IpcEndpoint } from '../../adapters/broker-ipc-messages.js';

export function processEndpoint(): IpcEndpoint {
  return {
    send: (message) => {
      if (process.send === undefined || !process.connected) return false;
      process.send(message);
      return true;
    },
    onMessage: (listener) => void process.on('message', listener),
    onDisconnect: (listener) => void process.once('disconnect', listener),
  };
}

export function workerEndpoint(worker: Worker): IpcEndpoint {
  return {
    send: (message) => {
      if (!worker.isConnected()) return false;
      worker.send(message);
      return true;
    },
    onMessage: (listener) => void worker.on('message', listener),
    onDisconnect: (listener) => void worker.once('disconnect', listener),
  };
}
