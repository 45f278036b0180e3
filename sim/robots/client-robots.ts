// Simulated users running the real client (src/client/client.ts) over simulated sockets. Each robot is
// an OdinClient with its own seeded Random, subscribed to the scenario's channels; the fleet records when
// each robot got each event, and what became of every socket the clients opened.
import { OdinClient } from '../../src/client/client.js';
import type { SocketFactory } from '../../src/client/ports.js';
import type { EventMeta, GapInfo, ReconnectOptions } from '../../src/client/types.js';
import type { SimClock } from '../adapters/clock-sim.js';
import { SimRandom } from '../adapters/random-sim.js';
import type { SimProcess } from '../kernel/process.js';
import type { TimelineRecorder } from '../report/timeline.js';
import { SimSocketFactory } from '../adapters/socket-sim.js';
import { trackSockets } from './track-sockets.js';

export interface ClientRobotSpec {
  readonly dstAddr: string;
  readonly dstPort: number;
  readonly channel: string;
  readonly reconnect?: Partial<ReconnectOptions>;
  readonly connectTimeoutMs?: number;
  /** Source addresses used in turn (one load host with several addresses). */
  readonly srcAddrs?: readonly string[];
  /** Sockets from here instead of one fixed destination (a load balancer in front of instances). */
  readonly socketFactory?: SocketFactory;
  /** Told about every delivered event and every reported gap or reset (invariant checks). */
  readonly onEvent?: (r: ClientRobot, meta: EventMeta) => void;
  readonly onGap?: (r: ClientRobot, channel: string, gap: GapInfo) => void;
  readonly onReset?: (r: ClientRobot, channel: string) => void;
  /**
   * false: reconnect delays without jitter — each delay is the full backoff window (1 s, 2 s, 4 s, …), the
   * policy of clients that back off "exponentially" but in lockstep. Our client always draws full jitter
   * from its Random; a Random pinned just below 1 turns that into the fixed schedule.
   */
  readonly jitter?: boolean;
  /** The ?user= of robot r (per-user caps); default one user per robot. */
  readonly userOf?: (r: ClientRobot) => string;
}

export interface ClientRobot {
  readonly index: number;
  client: OdinClient | null;
  /** Virtual time of the first event received on the channel, or -1. */
  firstEventMs: number;
  events: number;
  errors: number;
}

/** A Random pinned just below 1: backoffDelayMs then returns the whole window, i.e. no jitter. */
const NO_JITTER = { next: () => 1 - 2 ** -32 };

interface StartJob {
  readonly fleet: ClientRobotFleet;
  readonly r: ClientRobot;
}
function startClient(j: StartJob): void {
  j.fleet.start(j.r);
}

export class ClientRobotFleet {
  readonly robots: ClientRobot[] = [];
  readonly sockets: SimSocketFactory;
  /** Optional: counts attempts, open sessions and failures over time for the report. */
  timeline: TimelineRecorder | null = null;
  private readonly tracked: SocketFactory;

  constructor(
    readonly proc: SimProcess,
    readonly clock: SimClock,
    readonly spec: ClientRobotSpec,
  ) {
    this.sockets = new SimSocketFactory(proc, spec.dstAddr, spec.dstPort, spec.srcAddrs ?? []);
    this.tracked = trackSockets(spec.socketFactory ?? this.sockets.factory, () => this.timeline);
  }

  add(atMs: number): ClientRobot {
    const r: ClientRobot = { index: this.robots.length, client: null, firstEventMs: -1, events: 0, errors: 0 };
    this.robots.push(r);
    this.proc.world.sched.at(atMs, startClient, { fleet: this, r });
    return r;
  }

  start(r: ClientRobot): void {
    const c = new OdinClient({
      url: `ws://${this.spec.dstAddr}/ws?user=${this.spec.userOf?.(r) ?? `r${r.index}`}`,
      socketFactory: this.tracked,
      clock: this.clock,
      random: this.spec.jitter === false ? NO_JITTER : new SimRandom(this.proc.world.rng.fork(`robot${r.index}`)),
      ...(this.spec.reconnect !== undefined ? { reconnect: this.spec.reconnect } : {}),
      ...(this.spec.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.spec.connectTimeoutMs } : {}),
      onError: () => void r.errors++,
    });
    const spec = this.spec;
    c.subscribe(spec.channel, {
      onEvent: (_data, meta) => {
        r.events++;
        if (r.firstEventMs < 0) r.firstEventMs = this.clock.nowMs();
        spec.onEvent?.(r, meta);
      },
      onGap: (ch, gap) => spec.onGap?.(r, ch, gap),
      onReset: (ch) => spec.onReset?.(r, ch),
    });
    r.client = c;
    c.connect();
  }

  /** Robots by client state at the end (open, reconnecting, closed, …). */
  states(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.robots) {
      const s = r.client?.state ?? 'not-started';
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }
}
