// One feed that can be unmounted and switched to another channel, and the shared connection's state.
import { useChannel, useConnectionState } from '@odin-gateway/react';
import { useEffect, useState } from 'react';

/** How many connection states the page lists. */
const HISTORY_MAX = 20;

interface Trade {
  readonly price: number;
}

function Feed({ channel }: { readonly channel: string }) {
  const { events, received, reset, gaps, connection } = useChannel<Trade>(channel, { keep: 5 });
  return (
    <section>
      <h2 data-testid="channel">{channel}</h2>
      {reset !== null && (
        <p className="trouble" data-testid="reset">
          reset: {reset} (reload from the backend)
        </p>
      )}
      {gaps.length > 0 && <p className="trouble">gaps: {gaps.length}</p>}
      <p>
        received <span data-testid="received">{received}</span> while {connection}
      </p>
      <ol>
        {events.map((e) => (
          <li key={`${e.meta.channel}:${e.meta.offset}`} data-testid="event">
            {e.meta.offset}: {e.data.price}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function App({ channels }: { readonly channels: readonly [string, string] }) {
  const [shown, setShown] = useState(true);
  const [which, setWhich] = useState(0);
  const state = useConnectionState();
  const [history, setHistory] = useState<readonly string[]>([]);
  useEffect(() => setHistory((h) => (h[h.length - 1] === state ? h : [...h.slice(1 - HISTORY_MAX), state])), [state]);
  return (
    <main>
      <h1>
        odin + React — <span data-testid="state">{state}</span>
      </h1>
      <p>
        connection so far: <span data-testid="states">{history.join(' → ')}</span>
      </p>
      <button data-testid="toggle" onClick={() => setShown((s) => !s)}>
        {shown ? 'unmount the feed' : 'mount the feed'}
      </button>{' '}
      <button data-testid="switch" onClick={() => setWhich((w) => 1 - w)}>
        switch channel
      </button>
      {shown && <Feed channel={channels[which]!} />}
    </main>
  );
}
