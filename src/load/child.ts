// A forked child process with typed IPC messages and bounded waits: what the load coordinator uses for its
// workers (and the benches for their servers' helpers). Every wait has a deadline; stop() asks, then kills.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * How to run a sibling module as a child process. From the TypeScript sources (tsx, vitest) the child
 * needs the tsx loader; compiled (dist/), it is plain JavaScript.
 */
export function childModule(specifier: string, base: string): { file: string; execArgv: string[] } {
  const fromSources = base.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSources ? specifier.replace(/\.js$/, '.ts') : specifier, base));
  return { file, execArgv: fromSources ? ['--import', 'tsx'] : [] };
}

type Waiter<Out> = { match: (m: Out) => boolean; resolve: (m: Out) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class Child<In extends object, Out extends { type: string }> {
  readonly process: ChildProcess;
  private readonly waiters = new Set<Waiter<Out>>();
  private exited: Error | null = null;
  private readonly listeners: Array<(m: Out) => void> = [];

  constructor(
    readonly name: string,
    module: { file: string; execArgv: string[] },
    args: readonly string[] = [],
  ) {
    this.process = fork(module.file, args, { execArgv: module.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    this.process.on('message', (message: Out) => {
      if (message.type === 'failed') {
        this.fail(new Error(`${name}: ${(message as unknown as { message: string }).message}`));
        return;
      }
      for (const listener of this.listeners) listener(message);
      for (const waiter of this.waiters) {
        if (!waiter.match(message)) continue;
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(message);
      }
    });
    this.process.on('exit', (code, signal) => this.fail(new Error(`${name} exited (code ${code}, signal ${signal})`)));
    this.process.on('error', (error) => this.fail(error));
  }

  /** Every message, as it arrives (before waiters see it). */
  onMessage(listener: (m: Out) => void): void {
    this.listeners.push(listener);
  }

  send(message: In): void {
    if (this.exited === null && this.process.connected) this.process.send(message);
  }

  /** The next message matching `match`, within `timeoutMs`. */
  next<T extends Out>(match: (m: Out) => m is T, timeoutMs: number, what: string): Promise<T> {
    if (this.exited !== null) return Promise.reject(this.exited);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<Out> = {
        match,
        resolve: resolve as (m: Out) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  get failure(): Error | null {
    return this.exited;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Sends `stopMessage` and waits up to `graceMs` for the exit; then SIGKILL. */
  async stop(stopMessage: In, graceMs: number): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.send(stopMessage);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.running) this.process.kill('SIGKILL');
  }

  private fail(error: Error): void {
    this.exited ??= error;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(this.exited);
    }
    this.waiters.clear();
  }
}
