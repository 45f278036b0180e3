// useChannel(name, options): subscribe while mounted, through the provider's shared connection. A new
// `name` (or a new connection) unsubscribes the old channel and subscribes the new one; unmounting
// unsubscribes. Callbacks are read at each event, so inline functions do not cause resubscribes.
import type { ClientState } from '@odin-gateway/client';
import { useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { ChannelStore, EMPTY_VIEW, keepOf, type ChannelHandlers, type ChannelView } from './channel-store.js';
import { useOdin } from './provider.js';

export interface UseChannelOptions<T> extends ChannelHandlers<T> {
  /** How many of the newest events `events` holds (default 100, at most 10,000; 0 keeps only `last`). */
  readonly keep?: number;
}

export interface UseChannelResult<T> extends ChannelView<T> {
  /** The shared connection's state: events flow only while it is `open`. */
  readonly connection: ClientState;
}

const noListen = (): (() => void) => () => {};
const emptyView = (): ChannelView<never> => EMPTY_VIEW;

/**
 * Subscribes to `name` (a channel, or a pattern with `*`/`>`) while the component is mounted; `null`
 * subscribes to nothing. `T` is what the application expects the events' data to be: it is not checked.
 */
export function useChannel<T = unknown>(name: string | null, options: UseChannelOptions<T> = {}): UseChannelResult<T> {
  const { client, state } = useOdin();
  const handlers = useRef<ChannelHandlers<T>>(options);
  useEffect(() => {
    handlers.current = options;
  });
  const keep = keepOf(options.keep);
  const store = useMemo(
    () => (client !== null && name !== null ? new ChannelStore<T>(client, name, keep, () => handlers.current) : null),
    [client, name, keep],
  );
  useEffect(() => (store === null ? undefined : store.start()), [store]);
  const view = useSyncExternalStore(store?.listen ?? noListen, store?.snapshot ?? emptyView, store?.snapshot ?? emptyView);
  return { ...view, connection: state };
}
