// Makes any read of real time or real randomness during a simulation fail loudly.
//
// A simulation must get time only from the Scheduler and randomness only from a seeded Prng; one stray
// Date.now() or Math.random() (in the gateway, the client or the lab) silently breaks "same seed → same
// bytes". `runGuarded(fn)` swaps the global sources for throwing stand-ins, runs `fn` synchronously, and
// restores the originals in a finally block, even when `fn` throws. THIS FILE IS THE ONE PLACE IN sim/
// ALLOWED TO TOUCH Date, Math.random, performance and the timer globals.
//
// Scope: the run must be synchronous (the lab's event loop is), so nothing else executes while the guard
// is up. Promises are not guarded: the core is callback-only by contract (src/core/ports.ts).

export class DeterminismError extends Error {
  constructor(what: string) {
    super(
      `determinism guard: ${what} was called during a simulation run. ` +
        'Use the Clock/Random ports (sim/adapters/clock-sim.ts, random-sim.ts) or the Scheduler instead.',
    );
    this.name = 'DeterminismError';
  }
}

function thrower(what: string): () => never {
  return () => {
    throw new DeterminismError(what);
  };
}

let depth = 0;

/** True while a guarded run is in progress. */
export function guardActive(): boolean {
  return depth > 0;
}

type Mutable = Record<string, unknown>;

export function runGuarded<T>(fn: () => T): T {
  if (depth > 0) {
    depth++;
    try {
      return fn();
    } finally {
      depth--;
    }
  }
  const g = globalThis as unknown as Mutable;
  const perf = globalThis.performance as unknown as Mutable;
  const proc = globalThis.process as unknown as Mutable | undefined;
  const RealDate = Date;
  const saved = {
    Date: g['Date'],
    random: Math.random,
    perfNow: Object.getOwnPropertyDescriptor(perf, 'now'),
    setTimeout: g['setTimeout'],
    setInterval: g['setInterval'],
    setImmediate: g['setImmediate'],
    hrtime: proc?.['hrtime'],
  };
  const GuardedDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0) throw new DeterminismError('new Date() without arguments');
      return Reflect.construct(target, args, newTarget) as object;
    },
    apply() {
      throw new DeterminismError('Date() as a function');
    },
    get(target, prop, receiver) {
      if (prop === 'now') return thrower('Date.now()');
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  depth = 1;
  try {
    g['Date'] = GuardedDate;
    Math.random = thrower('Math.random()');
    Object.defineProperty(perf, 'now', { value: thrower('performance.now()'), configurable: true, writable: true });
    g['setTimeout'] = thrower('setTimeout()');
    g['setInterval'] = thrower('setInterval()');
    g['setImmediate'] = thrower('setImmediate()');
    if (proc !== undefined) proc['hrtime'] = thrower('process.hrtime()');
    return fn();
  } finally {
    g['Date'] = saved.Date;
    Math.random = saved.random;
    if (saved.perfNow !== undefined) Object.defineProperty(perf, 'now', saved.perfNow);
    else delete perf['now'];
    g['setTimeout'] = saved.setTimeout;
    g['setInterval'] = saved.setInterval;
    g['setImmediate'] = saved.setImmediate;
    if (proc !== undefined) proc['hrtime'] = saved.hrtime;
    depth = 0;
  }
}
