// One connection for a React tree: <OdinProvider url=…> opens it when mounted (and when `url` changes),
// closes it when unmounted, and shares it and its state with every useChannel below. The client is made
// in an effect, not during render, so React's StrictMode (mount, unmount, mount) leaves exactly one open
// connection behind and never reuses a closed one.
import { connect, type ClientState, type ConnectOptions, type OdinClient } from '@odin-gateway/client';
import { createContext, createElement, useContext, useEffect, useRef, useState, type ReactElement, type ReactNode } from 'react';

export interface OdinContextValue {
  /** null until the provider's effect has run, and after it unmounted. */
  readonly client: OdinClient | null;
  readonly state: ClientState;
}

const OdinContext = createContext<OdinContextValue | null>(null);

export interface OdinProviderProps {
  /** The gateway's WebSocket endpoint, e.g. wss://example.com/ws. A new value opens a new connection. */
  readonly url: string;
  /**
   * The client's options (reconnect, timeouts, onError, onStateChange…), read when a connection is made;
   * later changes apply at the next `url` change or remount (give the provider a `key` to force one).
   */
  readonly options?: ConnectOptions;
  readonly children?: ReactNode;
}

export function OdinProvider({ url, options, children }: OdinProviderProps): ReactElement {
  const optionsRef = useRef(options);
  const [value, setValue] = useState<OdinContextValue>({ client: null, state: 'idle' });
  useEffect(() => {
    optionsRef.current = options;
  });

  useEffect(() => {
    const given = optionsRef.current ?? {};
    let client: OdinClient | null = null;
    let live = true;
    // connect() reports 'connecting' before it returns (client still null); the setValue below follows.
    client = connect(url, {
      ...given,
      onStateChange: (state) => {
        if (live) setValue({ client, state });
        given.onStateChange?.(state);
      },
    });
    setValue({ client, state: client.state });
    return () => {
      live = false;
      client?.close();
      setValue({ client: null, state: 'closed' });
    };
  }, [url]);

  return createElement(OdinContext.Provider, { value }, children);
}

/** The provider's client and its connection state. Throws outside an OdinProvider: a wiring mistake. */
export function useOdin(): OdinContextValue {
  const value = useContext(OdinContext);
  if (value === null) throw new Error('odin: useOdin/useChannel must be used inside an <OdinProvider>');
  return value;
}

/** `idle → connecting → open → reconnecting → closed`, re-rendering on each change. */
export function useConnectionState(): ClientState {
  return useOdin().state;
}
