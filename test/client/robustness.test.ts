import { describe, expect, it } from 'vitest';
import { decodeServerMessage } from '../../src/client/decode.js';
import { connected, event, harness, recorder } from './helpers.js';

const A = 'odin.token.ABC.trade';

describe('application errors throw synchronously', () => {
  it.each([
    ['', 'is empty'],
    ['odin..trade', 'empty token'],
    ['odin.>.trade', '">" before its last token'],
    ['odin.token.AB C', 'outside'],
  ])('subscribe(%j) throws, naming the problem', (name, problem) => {
    const h = harness();
    expect(() => h.client.subscribe(name, recorder().handlers)).toThrow(problem);
    h.client.connect();
    h.net.last.accept();
    h.clock.settle();
    expect(h.net.last.ofType('subscribe')).toEqual([]);
  });

  it('subscribe on a closed client throws', () => {
    const h = harness();
    h.client.close();
    expect(() => h.client.subscribe(A, recorder().handlers)).toThrow('closed');
  });

  it('rejects nonsensical options', () => {
    expect(() => harness({ reconnect: { baseMs: 0 } })).toThrow(RangeError);
    expect(() => harness({ bufferEventsMax: 0 })).toThrow(RangeError);
  });
});

describe('the server is not trusted to be well-formed', () => {
  it('malformed frames go to onError and the client keeps going', () => {
    const h = harness();
    const a = recorder();
    h.client.subscribe(A, a.handlers);
    const socket = connected(h, 'E1', 0);
    socket.receiveText('{not json');
    socket.receiveText('[1,2]');
    socket.receive({ type: 'event', ch: A, offset: 5, prev: 7, data: 1 }); // prev past offset
    socket.receive({ type: 'event', ch: A, offset: -1, prev: null, data: 1 });
    socket.receive({ type: 'surprise' });
    socket.receive(event(A, 1, 0));
    expect(a.offsets()).toEqual([1]);
    expect(h.errors.map((e) => e.code)).toEqual(Array(5).fill('malformed_frame'));
    expect(h.client.counters.malformedFrames).toBe(5);
    expect(h.client.state).toBe('open');
  });

  it('decodes every v1 server message it is given in the documented shape', () => {
    const frames = [
      { type: 'welcome', session: 's', heartbeatMs: 25_000, limits: { channelsPerRequestMax: 100 } },
      { type: 'subscribed', id: 1, channels: { [A]: { epoch: 'E1', offset: 57, recovered: true, replayed: 16 } } },
      { type: 'unsubscribed', id: 2, channels: [A] },
      { type: 'replayed', id: 3, channel: A, from: 41, to: 57, count: 16 },
      { type: 'event', ch: A, offset: 58, prev: 57, data: { p: 1 } },
      { type: 'gap', ch: A, from: 58, to: 61, reason: 'shed' },
      { type: 'throttle', level: 1, percent: 75, message: 'slow down' },
      { type: 'error', id: 1, code: 'invalid_json', message: 'bad' },
      { type: 'pong', id: 4 },
    ];
    for (const frame of frames) expect(decodeServerMessage(JSON.stringify(frame))).toEqual({ ok: true, message: frame });
  });

  it('a refused subscribe is reported with its channels and the subscription goes inactive', () => {
    const h = harness();
    const a = recorder();
    const sub = h.client.subscribe(A, a.handlers);
    h.client.connect();
    const socket = h.net.last;
    socket.accept();
    const request = socket.lastOfType('subscribe');
    socket.receive({ type: 'error', id: request.id, code: 'subscription_limit', message: 'at most 1000' });
    expect(h.errors).toEqual([{ origin: 'server', code: 'subscription_limit', message: 'at most 1000', channels: [A] }]);
    expect(sub.active).toBe(false);
    socket.receive(event(A, 1, 0));
    expect(a.events).toEqual([]);
  });

  it('server errors without a request go to onError; throttle notices to onThrottle', () => {
    const throttles: unknown[] = [];
    const h = harness({ onThrottle: (notice) => throttles.push(notice) });
    const socket = connected(h);
    socket.receive({ type: 'error', code: 'rate_limited', message: 'slow down' });
    socket.receive({ type: 'throttle', level: 2, percent: 80, message: 'queue filling' });
    expect(h.errors).toEqual([{ origin: 'server', code: 'rate_limited', message: 'slow down' }]);
    expect(throttles).toEqual([{ level: 2, percent: 80, message: 'queue filling' }]);
  });
});

describe('application callbacks', () => {
  it('a throwing handler is reported and does not stop delivery to others', () => {
    const h = harness();
    const good = recorder();
    h.client.subscribe(A, {
      onEvent: () => {
        throw new Error('app bug');
      },
    });
    h.client.subscribe(A, good.handlers);
    const socket = connected(h);
    socket.receive(event(A, 1, 0));
    socket.receive(event(A, 2, 1));
    expect(good.offsets()).toEqual([1, 2]);
    expect(h.errors).toEqual([
      expect.objectContaining({ code: 'handler_threw', message: 'app bug' }),
      expect.objectContaining({ code: 'handler_threw', message: 'app bug' }),
    ]);
  });

  it('close() from inside onEvent stops delivery of the rest of a batch', () => {
    const h = harness();
    const seen: number[] = [];
    h.client.subscribe(A, {
      onEvent: (_data, meta) => {
        seen.push(meta.offset);
        if (meta.offset === 2) h.client.close();
      },
    });
    const socket = connected(h, 'E1', 0);
    socket.receive(event(A, 3, 2)); // held: 1 and 2 missing
    const replay = socket.lastOfType('replay');
    socket.receive(event(A, 1, 0));
    socket.receive(event(A, 2, 1));
    socket.receive({ type: 'replayed', id: replay.id, channel: A, from: 0, to: 2, count: 2 });
    expect(seen).toEqual([1, 2]);
    expect(h.client.state).toBe('closed');
  });

  it('a socket factory that throws closes the client with socket_failed', () => {
    const h = harness({
      socketFactory: () => {
        throw new SyntaxError('invalid URL');
      },
    });
    h.client.connect();
    expect(h.client.state).toBe('closed');
    expect(h.errors).toEqual([expect.objectContaining({ code: 'socket_failed' })]);
    expect(h.clock.pending).toBe(0);
  });
});
