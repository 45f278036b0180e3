// The React binding's channel store, without React: what useChannel shows is this store's snapshot. Run
// against the real client (src/client) over the scripted socket of the client's own tests.
import { describe, expect, it, vi } from 'vitest';
import { ChannelStore, DEFAULT_KEEP, EMPTY_VIEW, GAPS_KEPT, KEEP_MAX, keepOf, type ChannelHandlers } from '../../packages/react/src/channel-store.js';
import { answerSubscribe, connected, event, harness, nextSocket } from '../client/helpers.js';

const A = 'odin.token.ABC.trade';

function storeOn(h: ReturnType<typeof harness>, keep = DEFAULT_KEEP, handlers: ChannelHandlers<{ n: number }> = {}, name = A): ChannelStore<{ n: number }> {
  return new ChannelStore<{ n: number }>(h.client, name, keep, () => handlers);
}

describe('ChannelStore', () => {
  it('subscribes on start, keeps events in order, and hands out one snapshot per change', () => {
    const h = harness();
    const store = storeOn(h);
    store.start();
    const socket = connected(h, 'E1', 40);
    expect(socket.ofType('subscribe')).toEqual([{ type: 'subscribe', id: expect.any(Number), channels: [A] }]);
    const before = store.snapshot();
    expect(store.snapshot()).toBe(before); // unchanged: the same object, so React does not re-render
    socket.receive(event(A, 41, 0));
    socket.receive(event(A, 42, 41));
    const after = store.snapshot();
    expect(after).not.toBe(before);
    expect(after.events.map((e) => [e.meta.offset, e.data])).toEqual([
      [41, { n: 41 }],
      [42, { n: 42 }],
    ]);
    expect([after.last?.meta.offset, after.received, after.position, after.error]).toEqual([42, 2, { epoch: 'E1', offset: 42 }, null]);
    expect(Object.isFrozen(after) && Object.isFrozen(after.events)).toBe(true);
  });

  it('keeps only the newest `keep` events (0 keeps just the last), counting all of them', () => {
    const h = harness();
    const three = storeOn(h, 3);
    const none = storeOn(h, 0);
    three.start();
    none.start();
    const socket = connected(h, 'E1', 0);
    for (let offset = 1; offset <= 10; offset++) socket.receive(event(A, offset, offset - 1));
    expect(three.snapshot().events.map((e) => e.meta.offset)).toEqual([8, 9, 10]);
    expect(three.snapshot().received).toBe(10);
    expect(none.snapshot().events).toEqual([]);
    expect(none.snapshot().last?.meta.offset).toBe(10);
  });

  it('records gaps (bounded) and calls the onGap handler current at the time', () => {
    const h = harness();
    let handlers: ChannelHandlers<{ n: number }> = { onGap: vi.fn() };
    const store = new ChannelStore<{ n: number }>(h.client, A, 10, () => handlers);
    store.start();
    const socket = connected(h, 'E1', 0);
    const first = handlers.onGap;
    socket.receive({ type: 'gap', ch: A, from: 1, to: 5, reason: 'conflated' });
    handlers = { onGap: vi.fn() }; // a re-render with a new inline callback
    let offset = 5;
    for (let i = 0; i < GAPS_KEPT + 5; i++) {
      socket.receive({ type: 'gap', ch: A, from: offset + 1, to: offset + 2, reason: 'conflated' });
      offset += 2;
    }
    expect(first).toHaveBeenCalledExactlyOnceWith(A, { from: 1, to: 5, reason: 'conflated' });
    expect(handlers.onGap).toHaveBeenCalledTimes(GAPS_KEPT + 5);
    const gaps = store.snapshot().gaps;
    expect(gaps).toHaveLength(GAPS_KEPT);
    expect(gaps[gaps.length - 1]).toEqual({ channel: A, from: offset - 1, to: offset, reason: 'conflated' });
  });

  it('on a reset empties the window, says why, and calls onReset; later events start the new timeline', () => {
    const h = harness();
    const onReset = vi.fn();
    const store = storeOn(h, 10, { onReset });
    store.start();
    const first = connected(h, 'E1', 10);
    first.receive(event(A, 11, 10));
    first.end({ code: 1006, reason: '' });
    const second = nextSocket(h);
    second.accept();
    answerSubscribe(second, 'E2', 500, { [A]: { epoch: 'E2', offset: 500, recovered: false, reason: 'epoch_changed' } });
    expect(onReset).toHaveBeenCalledExactlyOnceWith(A, 'epoch_changed');
    expect(store.snapshot()).toMatchObject({ events: [], last: undefined, reset: 'epoch_changed', resets: 1, received: 1 });
    second.receive(event(A, 501, 480));
    expect(store.snapshot().events.map((e) => e.meta.offset)).toEqual([501]);
    expect(store.snapshot().position).toEqual({ epoch: 'E2', offset: 501 });
  });

  it('unsubscribes on stop and subscribes again on a second start (React StrictMode runs effects twice)', () => {
    const h = harness();
    const store = storeOn(h);
    const stop = store.start();
    const socket = connected(h, 'E1', 0);
    socket.receive(event(A, 1, 0));
    stop();
    expect(socket.ofType('unsubscribe')).toEqual([{ type: 'unsubscribe', id: expect.any(Number), channels: [A] }]);
    socket.receive(event(A, 2, 1)); // in flight when we unsubscribed
    expect(store.snapshot().received).toBe(1);
    store.start();
    h.clock.settle();
    expect(socket.ofType('subscribe')).toHaveLength(2);
  });

  it('notifies listeners on each change until they unlisten', () => {
    const h = harness();
    const store = storeOn(h);
    const listener = vi.fn();
    const unlisten = store.listen(listener);
    store.start();
    const socket = connected(h, 'E1', 0);
    socket.receive(event(A, 1, 0));
    const calls = listener.mock.calls.length;
    expect(calls).toBe(2); // subscribed (start), then the event
    unlisten();
    socket.receive(event(A, 2, 1));
    expect(listener).toHaveBeenCalledTimes(calls);
  });

  it('reports a name the client refuses as an error in the view instead of throwing into React', () => {
    const h = harness();
    const store = storeOn(h, 10, {}, 'odin..bad');
    expect(() => store.start()).not.toThrow();
    expect(store.snapshot().error).toMatch(/cannot subscribe to "odin\.\.bad"/);
  });

  it('bounds keep: whole numbers from 0, at most KEEP_MAX', () => {
    expect([keepOf(undefined), keepOf(0), keepOf(5), keepOf(10 ** 9)]).toEqual([DEFAULT_KEEP, 0, 5, KEEP_MAX]);
    expect(() => keepOf(-1)).toThrow(RangeError);
    expect(() => keepOf(1.5)).toThrow(RangeError);
    expect(EMPTY_VIEW.events).toEqual([]);
  });
});
