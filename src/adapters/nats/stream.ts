// The stream of record: created when missing, checked when present. The gateway's guarantees rest on a
// few properties of the stream (docs/operations.md, "Stream settings"): it keeps messages by limits (not
// by interest or as a work queue), it never removes a subject's older messages behind the reader's back
// (no per-subject limits, no roll-ups), and it covers the configured subjects. A stream that breaks one of
// those is refused at start-up with what to change; limits that merely differ from the configuration
// (age, count, bytes, storage, replicas) are reported and the stream is used as it is — it may be shared
// with other gateways and resized by its operators.
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { subjectCovered } from './subjects.js';

export interface StreamSettings {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly maxAgeMs: number;
  readonly maxMsgs: number;
  readonly maxBytes: number;
  readonly storage: 'file' | 'memory';
  readonly replicas: number;
}

export const defaultStreamSettings: StreamSettings = {
  name: 'ODIN_TOKENS',
  subjects: ['odin.token.>', 'odin.global.>'],
  maxAgeMs: 30_000,
  maxMsgs: 100_000,
  maxBytes: 50 * 1024 * 1024,
  storage: 'file',
  replicas: 1,
};

/** The stream breaks a guarantee: the message lists every problem and what to change. */
export class StreamConfigError extends Error {
  override readonly name = 'StreamConfigError';
  constructor(
    readonly stream: string,
    readonly problems: readonly string[],
  ) {
    super(`stream ${stream} cannot be used: ${problems.join('; ')}`);
  }
}

export function streamConfigOf(settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: settings.name,
    subjects: [...settings.subjects],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(settings.maxAgeMs),
    max_msgs: settings.maxMsgs,
    max_bytes: settings.maxBytes,
    max_msgs_per_subject: -1,
    storage: settings.storage === 'file' ? StorageType.File : StorageType.Memory,
    num_replicas: settings.replicas,
    allow_rollup_hdrs: false,
  };
}

export interface StreamCheck {
  /** Break a guarantee: refuse to start. */
  readonly problems: string[];
  /** Differ from the configuration but are safe: report, use the stream as it is. */
  readonly differences: string[];
}

const ms = (n: number): string => (n === 0 ? 'unlimited' : `${n / 1e6} ms`);
const limit = (n: number): string => (n < 0 ? 'unlimited' : String(n));

/** Compares a present stream with the settings, field by field: wanted vs found. */
export function checkStream(found: StreamConfig, wanted: StreamSettings): StreamCheck {
  const problems: string[] = [];
  const differences: string[] = [];
  const subjects = found.subjects ?? [];
  const missing = wanted.subjects.filter((s) => !subjectCovered(s, subjects));
  if (missing.length > 0) {
    problems.push(
      `subjects: wanted ${JSON.stringify(wanted.subjects)}, found ${JSON.stringify(subjects)} (${missing.join(', ')} not covered); add them to the stream or set nats.subjects to what it stores`,
    );
  }
  const extra = subjects.filter((s) => !wanted.subjects.some((w) => subjectCovered(s, [w])));
  if (extra.length > 0) differences.push(`subjects: the stream also stores ${extra.join(', ')}, which the gateway will fan out too`);
  if (found.retention !== RetentionPolicy.Limits) {
    problems.push(
      `retention: wanted limits, found ${found.retention} (messages would disappear when consumed, so history would have holes); use a limits stream`,
    );
  }
  if ((found.max_msgs_per_subject ?? -1) > 0) {
    problems.push(
      `max_msgs_per_subject: wanted unlimited, found ${found.max_msgs_per_subject} (a channel's older events would vanish from the middle of the stream and a replay could be partial); set it to -1`,
    );
  }
  if (found.allow_rollup_hdrs === true) {
    problems.push("allow_rollup_hdrs: wanted false, found true (a roll-up purges a channel's earlier events and a replay could be partial); set it to false");
  }
  if (found.sealed === true) problems.push('sealed: the stream is sealed and accepts no new events; use another stream');
  if ((found.mirror ?? null) !== null) problems.push('mirror: the stream is a mirror and accepts no publishes; point nats.stream at the origin stream');
  const compare = (field: string, want: string, have: string): void => {
    if (want !== have) differences.push(`${field}: wanted ${want}, found ${have}`);
  };
  compare('max_age', ms(nanos(wanted.maxAgeMs)), ms(found.max_age));
  compare('max_msgs', limit(wanted.maxMsgs), limit(found.max_msgs));
  compare('max_bytes', limit(wanted.maxBytes), limit(found.max_bytes));
  compare('storage', wanted.storage, found.storage);
  compare('num_replicas', String(wanted.replicas), String(found.num_replicas));
  compare('discard', DiscardPolicy.Old, found.discard);
  return { problems, differences };
}

export interface EnsuredStream {
  readonly info: StreamInfo;
  readonly created: boolean;
  /** Safe differences from the settings, for a warning each. */
  readonly differences: readonly string[];
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: number; api_error?: { err_code?: number }; message?: string };
  return e.api_error?.err_code === 10059 || /stream not found/i.test(e.message ?? '');
}

/** Creates the stream when missing, checks it when present; a StreamConfigError when it is unusable. */
export async function ensureStream(jsm: JetStreamManager, settings: StreamSettings): Promise<EnsuredStream> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(settings.name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      return { info: await jsm.streams.add(streamConfigOf(settings)), created: true, differences: [] };
    } catch (addError) {
      // Another gateway created it meanwhile (same settings: fine; other settings: checked below).
      if (!/already in use/i.test((addError as Error).message)) throw addError;
      info = await jsm.streams.info(settings.name);
    }
  }
  const check = checkStream(info.config, settings);
  if (check.problems.length > 0) throw new StreamConfigError(settings.name, check.problems);
  return { info, created: false, differences: check.differences };
}

/**
 * The history timeline's name: the stream's name and creation time. The same for every gateway instance
 * and across restarts of gateways and NATS servers; a stream deleted and created again is a new epoch.
 */
export function epochOf(info: StreamInfo): string {
  return `${info.config.name}@${info.created}`;
}
