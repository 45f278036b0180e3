// The NATS adapter's pure parts: stream checks (what breaks a guarantee, what merely differs), subject
// coverage, delivery positions from reply subjects, payloads as JSON text, and start-up errors in words.
import { DiscardPolicy, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { connectionOptions, explainConnectError, serversShown } from '../../src/adapters/nats/connection.js';
import { deliveryInfo } from '../../src/adapters/nats/delivery-info.js';
import { payloadAsJson } from '../../src/adapters/nats/payload.js';
import { checkStream, defaultStreamSettings, streamConfigOf } from '../../src/adapters/nats/stream.js';
import { filtersFor, intersectSubjects, streamStores, subjectCovered } from '../../src/adapters/nats/subjects.js';

const asCreated = (overrides: Partial<StreamConfig> = {}): StreamConfig => ({ ...(streamConfigOf(defaultStreamSettings) as StreamConfig), ...overrides });

describe('stream checks', () => {
  it('finds nothing to say about the stream it would create', () => {
    expect(checkStream(asCreated(), defaultStreamSettings)).toEqual({ problems: [], differences: [] });
  });

  it('reports limits that differ field by field, wanted vs found, without refusing', () => {
    const found = asCreated({
      max_age: nanos(60_000),
      max_msgs: -1,
      max_bytes: 1_000,
      storage: StorageType.Memory,
      num_replicas: 3,
      discard: DiscardPolicy.New,
    });
    expect(checkStream(found, defaultStreamSettings)).toEqual({
      problems: [],
      differences: [
        'max_age: wanted 30000 ms, found 60000 ms',
        'max_msgs: wanted 100000, found unlimited',
        'max_bytes: wanted 52428800, found 1000',
        'storage: wanted file, found memory',
        'num_replicas: wanted 1, found 3',
        'discard: wanted old, found new',
      ],
    });
  });

  it('refuses what breaks a guarantee, each with what to change', () => {
    const found = asCreated({
      subjects: ['odin.token.*.trade'],
      retention: RetentionPolicy.Workqueue,
      max_msgs_per_subject: 1,
      allow_rollup_hdrs: true,
      sealed: true,
    });
    const { problems } = checkStream(found, defaultStreamSettings);
    expect(problems).toEqual([
      'subjects: wanted ["odin.token.>","odin.global.>"], found ["odin.token.*.trade"] (odin.token.>, odin.global.> not covered); add them to the stream or set nats.subjects to what it stores',
      'retention: wanted limits, found workqueue (messages would disappear when consumed, so history would have holes); use a limits stream',
      "max_msgs_per_subject: wanted unlimited, found 1 (a channel's older events would vanish from the middle of the stream and a replay could be partial); set it to -1",
      "allow_rollup_hdrs: wanted false, found true (a roll-up purges a channel's earlier events and a replay could be partial); set it to false",
      'sealed: the stream is sealed and accepts no new events; use another stream',
    ]);
  });

  it('accepts a stream whose subjects cover ours more broadly, and says what else it stores', () => {
    expect(checkStream(asCreated({ subjects: ['odin.>', 'audit.>'] }), defaultStreamSettings)).toEqual({
      problems: [],
      differences: ['subjects: the stream also stores odin.>, audit.>, which the gateway will fan out too'],
    });
  });

  it('covers subjects with NATS wildcards on both sides', () => {
    expect(subjectCovered('odin.token.>', ['odin.>'])).toBe(true);
    expect(subjectCovered('odin.token.>', ['odin.token.>'])).toBe(true);
    expect(subjectCovered('odin.>', ['odin.token.>'])).toBe(false);
    expect(subjectCovered('a.*', ['a.>'])).toBe(true);
    expect(subjectCovered('a.>', ['a.*'])).toBe(false);
    expect(subjectCovered('a.b', ['a.*'])).toBe(true);
    expect(subjectCovered('a.*', ['a.b'])).toBe(false);
    expect(subjectCovered('a.b.c', ['a.*'])).toBe(false);
    expect(subjectCovered('a', ['a.>'])).toBe(false);
    expect(streamStores('odin.token.ABC.trade', defaultStreamSettings.subjects)).toBe(true);
    expect(streamStores('odin.tokens.ABC', defaultStreamSettings.subjects)).toBe(false);
  });
});

describe('history read filters', () => {
  it('intersects patterns token by token', () => {
    expect(intersectSubjects('odin.*.ABC.>', 'odin.token.>')).toBe('odin.token.ABC.>');
    expect(intersectSubjects('odin.>', 'odin.token.*.trade')).toBe('odin.token.*.trade');
    expect(intersectSubjects('a.*', 'a.b')).toBe('a.b');
    expect(intersectSubjects('a.*', 'a.b.c')).toBeNull();
    expect(intersectSubjects('a.>', 'a')).toBeNull();
    expect(intersectSubjects('>', '*.x')).toBe('*.x');
    expect(intersectSubjects('a.b', 'a.c')).toBeNull();
    expect(intersectSubjects('a.b', 'a.b')).toBe('a.b');
  });

  it('uses the pattern itself where NATS takes it as a filter, else one intersection per stream subject', () => {
    const subjects = defaultStreamSettings.subjects;
    expect(filtersFor('odin.token.ABC.trade', subjects)).toEqual(['odin.token.ABC.trade']);
    expect(filtersFor('odin.token.*.trade', subjects)).toEqual(['odin.token.*.trade']);
    expect(filtersFor('odin.>', subjects)).toEqual(['odin.>']);
    expect(filtersFor('>', subjects)).toEqual(['>']);
    expect(filtersFor('odin.*.ABC.>', subjects)).toEqual(['odin.token.ABC.>', 'odin.global.ABC.>']);
    expect(filtersFor('odin.*', subjects)).toEqual([]);
    expect(filtersFor('other.channel', subjects)).toEqual([]);
  });
});

describe('delivery positions from the reply subject', () => {
  it('reads both forms the server sends, and nothing else', () => {
    expect(deliveryInfo('$JS.ACK.S.C.1.42.7.1796281722925960403.3')).toEqual({
      streamSeq: 42,
      consumerSeq: 7,
      pending: 3,
      storedAtMs: Number('1796281722925960403') / 1e6,
    });
    expect(deliveryInfo('$JS.ACK.hub.ACCHASH.S.C.1.42.7.1796281722925960403.0.rnd')).toEqual({
      streamSeq: 42,
      consumerSeq: 7,
      pending: 0,
      storedAtMs: Number('1796281722925960403') / 1e6,
    });
    expect(deliveryInfo(undefined)).toBeNull();
    expect(deliveryInfo('_INBOX.x')).toBeNull();
    expect(deliveryInfo('$JS.ACK.S.C.1.x.7.1.0')).toBeNull();
    expect(deliveryInfo('$JS.ACK.S.C.1.2')).toBeNull();
  });
});

describe('payloads', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  it('embeds JSON verbatim and turns anything else into a JSON string', () => {
    expect(payloadAsJson(bytes('{"price":42.5}'))).toBe('{"price":42.5}');
    expect(payloadAsJson(bytes(' [1, 2] '))).toBe(' [1, 2] ');
    expect(payloadAsJson(bytes('hello'))).toBe('"hello"');
    expect(payloadAsJson(bytes('{"broken":'))).toBe('"{\\"broken\\":"');
    expect(payloadAsJson(new Uint8Array())).toBe('""');
    expect(JSON.parse(payloadAsJson(new Uint8Array([0xff, 0xfe, 0x41])))).toBe('\ufffd\ufffdA');
  });
});

describe('start-up errors in words', () => {
  const servers = ['nats://user:secret@10.0.0.1:4222', 'nats://10.0.0.2:4222'];
  it('never shows credentials from the URLs', () => {
    expect(serversShown(servers)).toBe('nats://10.0.0.1:4222, nats://10.0.0.2:4222');
  });
  it('says what to check for refused credentials, TLS trouble and unreachable servers', () => {
    expect(explainConnectError(new Error('Authorization Violation'), servers)).toBe(
      'NATS at nats://10.0.0.1:4222, nats://10.0.0.2:4222 refused our credentials (Authorization Violation); check nats.token, nats.user/nats.password, nats.nkeySeed or nats.credsFile',
    );
    expect(explainConnectError(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), servers)).toMatch(
      /^TLS with NATS at .* failed \(self-signed certificate\); check nats.tlsCaFile/,
    );
    expect(explainConnectError(Object.assign(new Error('connect failed'), { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), servers)).toBe(
      'cannot reach NATS at nats://10.0.0.1:4222, nats://10.0.0.2:4222 (ECONNREFUSED); is nats-server running there, and is the address right?',
    );
    expect(explainConnectError(new Error('something else'), servers)).toBe(
      'cannot connect to NATS at nats://10.0.0.1:4222, nats://10.0.0.2:4222: something else',
    );
  });
});

describe('credentials written into server URLs', () => {
  it('lifts user and password (escaped, with colons) out of the URL, which the NATS client would ignore', () => {
    const options = connectionOptions({ servers: ['nats://al%40ice:p%3Ass:w@10.0.0.1:4222', ' nats://10.0.0.2:4222'] });
    expect(options).toMatchObject({ servers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'], user: 'al@ice', pass: 'p:ss:w' });
    expect(options.token).toBeUndefined();
  });
  it('reads a lone userinfo as a token, and lets explicit settings win over the URL', () => {
    expect(connectionOptions({ servers: ['tls://s3cret@h:4222'] })).toMatchObject({ servers: ['tls://h:4222'], token: 's3cret' });
    const explicit = connectionOptions({ servers: ['nats://u:p@h:4222'], auth: { token: 'configured' } });
    expect(explicit).toMatchObject({ servers: ['nats://h:4222'], token: 'configured' });
    expect(explicit.user).toBeUndefined();
  });
});
