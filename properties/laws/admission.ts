// I7 admission as a model-based property: handshakes admitted, opened, abandoned and closed in any order,
// with the load brake and a drain thrown in. The model is a list of tickets; from it alone it predicts
// every answer: accept exactly when no cap applies, else refuse with an applicable reason and its HTTP
// status (503 capacity/draining/overloaded, 429 per user/IP), before any upgrade.
import fc from 'fast-check';
import type { AdmissionTicket, CapacityInput } from '../../src/core/admission.js';
import { FakeConnection } from '../../test/support/fakes.js';
import { expectThat } from '../model/model.js';
import { System, type Link, type Variant } from '../model/system.js';

interface Ticket {
  readonly ip: string;
  readonly user: string | null;
  state: 'reserved' | 'open' | 'released';
}

export interface Limits {
  readonly configuredMax: number;
  readonly memory: { budget: number; baseline: number; per: number } | null;
  readonly fd: { limit: number; reserve: number } | null;
  readonly perUserMax: number;
  readonly perIpMax: number;
}

export class AdmissionModel {
  readonly tickets: Ticket[] = [];
  draining = false;
  overloaded = false;
  readonly capacity: number;
  readonly refusals = new Map<string, number>();

  constructor(readonly limits: Limits) {
    // docs/operations.md, "How capacity is derived": capacity = min(configured, (memory budget − baseline −
    // retained history) / per connection, fd limit − reserve).
    const terms = [limits.configuredMax];
    if (limits.memory !== null) terms.push(Math.max(0, Math.floor((limits.memory.budget - limits.memory.baseline) / limits.memory.per)));
    if (limits.fd !== null) terms.push(Math.max(0, limits.fd.limit - limits.fd.reserve));
    this.capacity = Math.min(...terms);
  }

  live(): Ticket[] {
    return this.tickets.filter((t) => t.state !== 'released');
  }
  count(pick: (t: Ticket) => boolean): number {
    return this.live().filter(pick).length;
  }
}

export interface AdmissionReal {
  readonly sys: System;
  readonly tickets: AdmissionTicket[];
  readonly links: Map<number, Link>;
}

type Cmd = fc.Command<AdmissionModel, AdmissionReal>;

const STATUS = { capacity: 503, draining: 503, overloaded: 503, per_user: 429, per_ip: 429, handshake_rate: 429 } as const;

function checkCounts(model: AdmissionModel, real: AdmissionReal): void {
  const a = real.sys.gateway.admission;
  const stats = real.sys.gateway.stats().connections;
  const held = model.live().length;
  expectThat(a.held === held, `I7: ${a.held} slots held, the model holds ${held}`);
  expectThat(a.held <= model.capacity, `I7: ${a.held} slots held over capacity ${model.capacity}`);
  expectThat(stats.capacity === model.capacity, `I7: capacity ${stats.capacity}, expected ${model.capacity}`);
  expectThat(stats.free === model.capacity - held, `free ${stats.free}`);
  expectThat(stats.current === model.count((t) => t.state === 'open'), `I7: ${stats.current} open connections`);
  const users = new Map<string, number>();
  for (const t of model.live()) if (t.user !== null) users.set(t.user, (users.get(t.user) ?? 0) + 1);
  const top = a.usersTop(100);
  expectThat(top.length === users.size && a.userCount === users.size, `I7: ${top.length} users counted, model has ${users.size}`);
  for (const { userId, connections } of top) {
    expectThat(users.get(userId) === connections && connections <= model.limits.perUserMax, `I7: user ${userId} holds ${connections}`);
  }
  for (let i = 1; i < top.length; i++) {
    const [a, b] = [top[i - 1]!, top[i]!];
    expectThat(a.connections > b.connections || (a.connections === b.connections && a.userId < b.userId), 'usersTop is not sorted by connections, then user');
  }
  expectThat(JSON.stringify(stats.topUsers) === JSON.stringify(top.slice(0, 10)) && stats.users === users.size && stats.held === held, 'stats: users');
}

export class AdmitCommand implements Cmd {
  constructor(
    readonly ip: number,
    readonly user: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(model: AdmissionModel, real: AdmissionReal): void {
    const ip = `10.0.0.${this.ip}`;
    const user = this.user < 0 ? null : `user-${this.user}`;
    const reasons: (keyof typeof STATUS)[] = [];
    if (model.draining) reasons.push('draining');
    else if (model.overloaded) reasons.push('overloaded');
    else {
      if (model.live().length >= model.capacity) reasons.push('capacity');
      if (user !== null && model.count((t) => t.user === user) >= model.limits.perUserMax) reasons.push('per_user');
      if (model.count((t) => t.ip === ip) >= model.limits.perIpMax) reasons.push('per_ip');
    }
    const answer = real.sys.gateway.admit({ ip, userId: user });
    if (reasons.length === 0) {
      expectThat(answer.ok, `I7: ${ip}/${user} refused (${answer.ok ? '' : answer.reason}) with no cap reached`);
      expectThat(answer.ticket.state === 'reserved', 'a new ticket is reserved');
      model.tickets.push({ ip, user, state: 'reserved' });
      real.tickets.push(answer.ticket);
    } else {
      expectThat(!answer.ok, `I7: ${ip}/${user} admitted although ${reasons} applies`);
      expectThat(reasons.includes(answer.reason), `I7: refused for ${answer.reason}, expected one of ${reasons}`);
      expectThat(answer.status === STATUS[answer.reason] && answer.retryAfterS === 3 && answer.message.length > 10, `I7: refusal ${JSON.stringify(answer)}`);
      model.refusals.set(answer.reason, (model.refusals.get(answer.reason) ?? 0) + 1);
      const counted = real.sys.telemetry.counts.get(`odin_handshakes_total{"outcome":"${answer.reason}"}`);
      expectThat(counted === model.refusals.get(answer.reason), `handshakes refused for ${answer.reason}: ${counted} counted`);
    }
    checkCounts(model, real);
  }
  toString(): string {
    return `admit(ip${this.ip}, user${this.user})`;
  }
}

/** Acts on the k-th ticket (mod their number) in a given state. */
abstract class TicketCommand implements Cmd {
  constructor(readonly k: number) {}
  abstract readonly state: Ticket['state'];
  protected pick(model: AdmissionModel): number {
    const idx = model.tickets.map((t, i) => (t.state === this.state ? i : -1)).filter((i) => i >= 0);
    return idx[this.k % idx.length]!;
  }
  check(model: AdmissionModel): boolean {
    return model.tickets.some((t) => t.state === this.state);
  }
  run(model: AdmissionModel, real: AdmissionReal): void {
    const i = this.pick(model);
    this.act(i, model.tickets[i]!, real);
    real.sys.settle();
    checkCounts(model, real);
  }
  abstract act(i: number, ticket: Ticket, real: AdmissionReal): void;
}

export class OpenCommand extends TicketCommand {
  override readonly state = 'reserved' as const;
  override act(i: number, ticket: Ticket, real: AdmissionReal): void {
    const conn = new FakeConnection();
    const session = real.sys.gateway.open(conn, real.tickets[i]!);
    real.links.set(i, { conn, session, read: 0, ended: null });
    ticket.state = 'open';
  }
  override toString(): string {
    return `open(#${this.k})`;
  }
}

export class AbandonCommand extends TicketCommand {
  override readonly state = 'reserved' as const;
  override act(i: number, ticket: Ticket, real: AdmissionReal): void {
    real.sys.gateway.abandon(real.tickets[i]!);
    ticket.state = 'released';
  }
  override toString(): string {
    return `abandon(#${this.k})`;
  }
}

export class CloseCommand extends TicketCommand {
  override readonly state = 'open' as const;
  override act(i: number, ticket: Ticket, real: AdmissionReal): void {
    real.sys.gateway.onClosed(real.links.get(i)!.session, 1000);
    ticket.state = 'released';
  }
  override toString(): string {
    return `close(#${this.k})`;
  }
}

/** Releasing twice (a late abandon, a second close report) must not free a second slot. */
export class ReleaseAgainCommand extends TicketCommand {
  override readonly state = 'released' as const;
  override act(i: number, _ticket: Ticket, real: AdmissionReal): void {
    const link = real.links.get(i);
    if (link !== undefined) real.sys.gateway.onClosed(link.session, 1000);
    real.sys.gateway.abandon(real.tickets[i]!);
  }
  override toString(): string {
    return `release-again(#${this.k})`;
  }
}

export class LoadCommand implements Cmd {
  constructor(readonly overloaded: boolean) {}
  check(): boolean {
    return true;
  }
  run(model: AdmissionModel, real: AdmissionReal): void {
    real.sys.gateway.setLoad({ eventLoopDelayMs: this.overloaded ? 1_000 : 1, eventLoopUtilization: 0.1 });
    model.overloaded = this.overloaded;
    expectThat(real.sys.gateway.stats().overloaded === this.overloaded, 'load brake state');
    checkCounts(model, real);
  }
  toString(): string {
    return `load(${this.overloaded ? 'high' : 'low'})`;
  }
}

export class DrainCommand implements Cmd {
  check(model: AdmissionModel): boolean {
    return !model.draining;
  }
  run(model: AdmissionModel, real: AdmissionReal): void {
    real.sys.gateway.drain(() => {});
    real.sys.settle();
    model.draining = true;
    for (const [i, link] of real.links) {
      // The host reports each close the drain started.
      if (model.tickets[i]!.state === 'open') {
        expectThat(link.conn.closed?.code === 1001, `I9: open connection #${i} not closed 1001 by the drain`);
        real.sys.gateway.onClosed(link.session, 1001);
        model.tickets[i]!.state = 'released';
      }
    }
    checkCounts(model, real);
  }
  toString(): string {
    return 'drain';
  }
}

export const limitsArb: fc.Arbitrary<Limits> = fc.record({
  configuredMax: fc.integer({ min: 0, max: 6 }),
  memory: fc.option(
    fc.record({ budget: fc.integer({ min: 0, max: 1_000 }), baseline: fc.integer({ min: 0, max: 600 }), per: fc.integer({ min: 50, max: 200 }) }),
  ),
  fd: fc.option(fc.record({ limit: fc.integer({ min: 0, max: 8 }), reserve: fc.integer({ min: 0, max: 4 }) })),
  perUserMax: fc.integer({ min: 1, max: 3 }),
  perIpMax: fc.integer({ min: 1, max: 4 }),
});

const k = fc.nat(10);
const commands = fc.commands(
  [
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: -1, max: 2 })).map(([ip, user]) => new AdmitCommand(ip, user)),
    fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: -1, max: 2 })).map(([ip, user]) => new AdmitCommand(ip, user)),
    k.map((i) => new OpenCommand(i)),
    k.map((i) => new AbandonCommand(i)),
    k.map((i) => new CloseCommand(i)),
    k.map((i) => new ReleaseAgainCommand(i)),
    fc.boolean().map((b) => new LoadCommand(b)),
    fc.constant(new DrainCommand()),
  ],
  { maxCommands: 60, size: 'max' },
);

export function admissionProperty(variant: Variant): fc.IPropertyWithHooks<[Limits, Iterable<Cmd>]> {
  return fc.property(limitsArb, commands, (limits, cmds) => {
    const capacity: CapacityInput = {
      configuredMax: limits.configuredMax,
      memoryBudgetBytes: limits.memory?.budget ?? null,
      baselineBytes: limits.memory?.baseline ?? 0,
      retainedBytes: 0,
      perConnectionBytes: limits.memory?.per ?? 1,
      fdLimit: limits.fd?.limit ?? null,
      fdReserve: limits.fd?.reserve ?? 0,
    };
    const options = {
      heartbeatMs: 1e9,
      admission: {
        connectionsMax: limits.configuredMax,
        perUserMax: limits.perUserMax,
        perIpMax: limits.perIpMax,
        handshakeBurst: 1e6,
        handshakesPerSecond: 1e6,
        retryAfterS: 3,
      },
    };
    fc.modelRun(() => ({ model: new AdmissionModel(limits), real: { sys: new System(variant, { options, capacity }), tickets: [], links: new Map() } }), cmds);
  });
}
