// The checkers: SAFETY and LIVENESS judged on a recorded trace (world.ts), never on the system's own
// counters. Each violation names the invariant, the robot, the subscription, the channel and offsets.
//
// What a subscription owes its app, per stream generation G (one broker epoch):
// - the start: the position of the first `subscribed` reply in G (a robot that was already subscribed in
//   an earlier generation is owed G from its first event: the epoch changed under it);
// - every acknowledged publish on a matching channel after the start is owed, unless it was delivered,
//   lies inside an onGap range, or a recovered:false reply excused it (offsets up to its position in G,
//   and everything of older generations);
// - I1 order: offsets strictly increase per channel and generation; I2 no duplicates — both between two
//   resets (after recovered:false the app reloads, and the stream restarts at the new position);
// - I4 resume exactness: every delivered event is the acknowledged publish at that offset (no phantom,
//   no event from another timeline presented under this one);
// - I3 no silent loss: an owed offset missing while a LATER offset of the same channel and generation was
//   delivered — the client moved past it without a gap or reset. That is a safety violation whenever it
//   happens, not a matter of waiting longer.
// - I5 encode once: every robot gets byte-identical frames for one publish (live or replayed).
// - LIVENESS: at the end (the last fault healed + the settle bound), nothing owed is still missing, and
//   every robot is connected.
import { subjectMatches } from '../../src/core/protocol.js';
import type { Ack, RobotTrace, Seen, SubTrace, Trace } from './world.js';

export type Invariant = 'I1' | 'I2' | 'I3' | 'I4' | 'I5' | 'liveness';

export interface Violation {
  readonly invariant: Invariant;
  readonly robot: number;
  readonly subscription: string;
  readonly channel: string;
  readonly generation: number;
  /** The offsets concerned (at most OFFSETS_SHOWN_MAX of them). */
  readonly offsets: readonly number[];
  readonly detail: string;
}

const OFFSETS_SHOWN_MAX = 10;

export interface CheckResult {
  readonly safety: Violation[];
  readonly liveness: Violation[];
}

interface Excuse {
  /** The name the recovered:false reply was for (this subscription's, or an overlapping one). */
  readonly name: string;
  readonly generation: number;
  /** Offsets up to this in `generation`, and every offset of older generations, are excused. */
  readonly through: number;
}

interface SubState {
  /** Start position per generation (absent: not owed anything in it yet). */
  readonly start: Map<number, number>;
  readonly excuses: Excuse[];
  /** Overlapping names' recovered:false, waiting for the onReset that tells this subscription. */
  readonly pending: Map<string, Excuse>;
  /** Delivered offsets per "gen/channel". */
  readonly delivered: Map<string, Set<number>>;
  /** Gap ranges per "gen/channel". */
  readonly gaps: Map<string, [number, number][]>;
  /** Last delivered offset per "gen/channel" since the last reset of that channel (I1/I2). */
  readonly last: Map<string, number>;
  readonly sinceReset: Map<string, Set<number>>;
  generation: number;
  /** recovered:false replies on the wire and onReset calls, per name. */
  readonly resetsOnWire: Map<string, number>;
  readonly resetsSeen: Map<string, number>;
}

const key = (g: number, ch: string): string => `${g}/${ch}`;
const channelOf = (k: string): string => k.slice(k.indexOf('/') + 1);
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

function violation(inv: Invariant, r: RobotTrace, sub: SubTrace, channel: string, g: number, offsets: readonly number[], detail: string): Violation {
  return { invariant: inv, robot: r.index, subscription: sub.name, channel, generation: g, offsets: offsets.slice(0, OFFSETS_SHOWN_MAX), detail };
}

function excused(st: SubState, a: Ack): boolean {
  return st.excuses.some((e) => subjectMatches(e.name, a.channel) && (a.generation < e.generation || (a.generation === e.generation && a.offset <= e.through)));
}

function applyExcuse(st: SubState, e: Excuse): void {
  st.excuses.push(e);
  // After a reset the app reloads; the stream restarts at the new position (I1/I2 start afresh).
  for (const k of [...st.last.keys()]) {
    if (subjectMatches(e.name, channelOf(k))) {
      st.last.delete(k);
      st.sinceReset.delete(k);
    }
  }
}

function replaySeen(r: RobotTrace, sub: SubTrace, ackByK: Map<number, Ack>, out: Violation[]): SubState {
  const st: SubState = {
    start: new Map(),
    excuses: [],
    pending: new Map(),
    delivered: new Map(),
    gaps: new Map(),
    last: new Map(),
    sinceReset: new Map(),
    generation: 0,
    resetsOnWire: new Map(),
    resetsSeen: new Map(),
  };
  const seen: readonly Seen[] = sub.seen;
  for (const s of seen) {
    switch (s[0]) {
      case 's': {
        const [, g, offset, recovered, name] = s;
        if (g < 0) break;
        if (name === sub.name) {
          // A robot subscribed in an earlier generation is owed the new stream from its beginning.
          if (!st.start.has(g)) st.start.set(g, st.start.size > 0 ? 0 : offset);
          st.generation = g;
        }
        if (recovered) break;
        const excuse = { name, generation: g, through: offset };
        // Our own name: the app must hear of it (counted below). An overlapping name's reset excuses
        // events on this subscription only if its onReset told this subscription too.
        if (name === sub.name) {
          bump(st.resetsOnWire, name);
          applyExcuse(st, excuse);
        } else st.pending.set(name, excuse);
        break;
      }
      case 'e': {
        const [, ch, offset, g, k] = s;
        const kk = key(g, ch);
        const ack = ackByK.get(k);
        if (ack === undefined || ack.channel !== ch || ack.offset !== offset || ack.generation !== g) {
          out.push(violation('I4', r, sub, ch, g, [offset], `delivered event #${k} at ${ch}@${offset} is not the acknowledged publish there`));
        }
        let since = st.sinceReset.get(kk);
        if (since === undefined) st.sinceReset.set(kk, (since = new Set()));
        const last = st.last.get(kk);
        if (since.has(offset)) out.push(violation('I2', r, sub, ch, g, [offset], `offset ${offset} delivered twice`));
        else if (last !== undefined && offset < last) out.push(violation('I1', r, sub, ch, g, [last, offset], `offset ${offset} delivered after ${last}`));
        since.add(offset);
        st.last.set(kk, offset);
        let d = st.delivered.get(kk);
        if (d === undefined) st.delivered.set(kk, (d = new Set()));
        d.add(offset);
        break;
      }
      case 'g': {
        const [, ch, from, to] = s;
        const kk = key(st.generation, ch);
        let gs = st.gaps.get(kk);
        if (gs === undefined) st.gaps.set(kk, (gs = []));
        gs.push([from, to]);
        break;
      }
      case 'r': {
        bump(st.resetsSeen, s[2]);
        const pending = st.pending.get(s[2]);
        if (pending !== undefined) {
          st.pending.delete(s[2]);
          applyExcuse(st, pending);
        }
        break;
      }
    }
  }
  return st;
}

function checkSub(r: RobotTrace, sub: SubTrace, acks: readonly Ack[], ackByK: Map<number, Ack>, safety: Violation[], liveness: Violation[]): void {
  const st = replaySeen(r, sub, ackByK, safety);
  for (const [name, n] of st.resetsOnWire) {
    const told = st.resetsSeen.get(name) ?? 0;
    if (told < n) safety.push(violation('I3', r, sub, name, st.generation, [], `${n} recovered:false for ${name} on the wire but ${told} onReset calls`));
  }
  // Owed offsets still missing, per gen/channel; then split into "passed over" (I3) and "not yet" (liveness).
  const missing = new Map<string, { ch: string; g: number; offsets: number[] }>();
  const firstGen = st.start.size > 0 ? Math.min(...st.start.keys()) : undefined;
  for (const a of acks) {
    if (!subjectMatches(sub.name, a.channel)) continue;
    const start = st.start.get(a.generation) ?? (firstGen !== undefined && a.generation > firstGen ? 0 : undefined);
    if (start === undefined || a.offset <= start) continue;
    if (excused(st, a)) continue;
    const kk = key(a.generation, a.channel);
    if (st.delivered.get(kk)?.has(a.offset) === true) continue;
    if ((st.gaps.get(kk) ?? []).some(([from, to]) => from <= a.offset && a.offset <= to)) continue;
    let m = missing.get(kk);
    if (m === undefined) missing.set(kk, (m = { ch: a.channel, g: a.generation, offsets: [] }));
    m.offsets.push(a.offset);
  }
  for (const [kk, m] of missing) {
    const delivered = st.delivered.get(kk);
    const maxDelivered = delivered === undefined ? -1 : Math.max(...delivered);
    const passed = m.offsets.filter((o) => o < maxDelivered);
    const pending = m.offsets.filter((o) => o > maxDelivered);
    if (passed.length > 0) {
      safety.push(
        violation(
          'I3',
          r,
          sub,
          m.ch,
          m.g,
          passed,
          `${passed.length} acknowledged event(s) silently skipped: later offsets up to ${maxDelivered} were delivered, no onGap or onReset covers them`,
        ),
      );
    }
    if (pending.length > 0) {
      liveness.push(
        violation('liveness', r, sub, m.ch, m.g, pending, `${pending.length} acknowledged event(s) never delivered, gapped or reset by the end of the run`),
      );
    }
  }
}

export function checkTrace(trace: Trace): CheckResult {
  const safety: Violation[] = [];
  const liveness: Violation[] = [];
  const ackByK = new Map<number, Ack>();
  for (const a of trace.acks) ackByK.set(a.k, a);
  for (const r of trace.robots) {
    for (const sub of r.subs) checkSub(r, sub, trace.acks, ackByK, safety, liveness);
    if (r.state !== 'open')
      liveness.push({
        invariant: 'liveness',
        robot: r.index,
        subscription: '*',
        channel: '*',
        generation: -1,
        offsets: [],
        detail: `client is ${r.state} at the end`,
      });
  }
  // I5 last: a frame that differs usually comes with a loss, which says more.
  for (const m of trace.frameMismatches) {
    safety.push({
      invariant: 'I5',
      robot: m.robot,
      subscription: '*',
      channel: m.channel,
      generation: m.generation,
      offsets: [m.offset],
      detail: 'event frame differs from the bytes another robot got for the same publish',
    });
  }
  return { safety, liveness };
}

/** The first violation to report: safety before liveness (a liveness failure may be a safety one's echo). */
export function firstViolation(c: CheckResult): Violation | undefined {
  return c.safety[0] ?? c.liveness[0];
}

export function formatViolation(v: Violation): string {
  const offs = v.offsets.length > 0 ? ` offsets ${v.offsets.join(',')}` : '';
  return `${v.invariant} robot ${v.robot} sub ${v.subscription} channel ${v.channel} gen ${v.generation}${offs}: ${v.detail}`;
}
