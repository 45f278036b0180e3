// The test page for the client's ready bundles: one channel's events as a list, the connection state, and
// what a person would want to see after a restart (resets, gaps). The page also records, for the test,
// every `subscribed` reply off the wire (by wrapping the page's WebSocket before the bundle loads), the
// client's state changes, and each random number the client draws (its reconnect jitter).

/** What the page keeps on window.feed. */
export interface Feed {
  readonly subscribed: Array<{ channels: Record<string, { epoch: string; offset: number; recovered?: boolean; replayed?: number; reason?: string }> }>;
  readonly events: Array<{ offset: number; data: unknown }>;
  readonly resets: Array<[string, string]>;
  readonly gaps: Array<[string, unknown]>;
  readonly states: string[];
  readonly draws: number[];
  readonly client: { counters: { reconnects: number }; position(name: string): { epoch: string; offset: number } | undefined };
}

const HEAD = `<!doctype html>
<meta charset="utf-8">
<title>odin client bundle</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; }
  #state { font-weight: bold; }
  li { font-family: monospace; }
  .trouble { color: #a40; }
  .info { color: #555; }
</style>
<h1>odin feed <small id="bundle"></small></h1>
<p>channel <code id="channel"></code> — connection: <span id="state">idle</span></p>
<div id="notices"></div>
<ol id="events"></ol>
<script>
  const feed = (window.feed = { subscribed: [], events: [], resets: [], gaps: [], states: [], draws: [] });
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      // A batched frame (the client offers odin.v1.batch) holds one message per line.
      this.addEventListener('message', (e) => {
        for (const line of String(e.data).split('\\n')) {
          const message = JSON.parse(line);
          if (message.type !== 'subscribed') continue;
          feed.subscribed.push(message);
          for (const [name, answer] of Object.entries(message.channels)) {
            if ('recovered' in answer) notice('resumed ' + name + ': ' + JSON.stringify(answer));
          }
        }
      });
    }
  };
  function notice(text, kind = 'info') {
    const p = document.createElement('p');
    p.className = kind;
    p.textContent = text;
    document.getElementById('notices').append(p);
  }
  // Called by the bundle-specific script below with the bundle's connect().
  window.start = (connect, bundle) => {
    const params = new URLSearchParams(location.search);
    const channel = params.get('channel');
    document.getElementById('bundle').textContent = bundle;
    document.getElementById('channel').textContent = channel;
    feed.client = connect(params.get('ws'), {
      reconnect: { baseMs: 100, capMs: 1000 },
      random: { next: () => { const r = Math.random(); feed.draws.push(r); return r; } },
      onStateChange: (state) => { feed.states.push(state); document.getElementById('state').textContent = state; },
    });
    feed.client.subscribe(channel, {
      onEvent: (data, meta) => {
        feed.events.push({ offset: meta.offset, data });
        const li = document.createElement('li');
        li.textContent = meta.offset + ': ' + JSON.stringify(data);
        document.getElementById('events').append(li);
      },
      onGap: (name, gap) => { feed.gaps.push([name, gap]); notice('gap on ' + name + ': ' + JSON.stringify(gap), 'trouble'); },
      onReset: (name, reason) => { feed.resets.push([name, reason]); notice('reset of ' + name + ': ' + reason + ' (reload from the backend)', 'trouble'); },
    });
  };
</script>
`;

/** The page loading dist/odin-client.global.js with a plain <script> tag (window.Odin). */
export const GLOBAL_PAGE = `${HEAD}<script src="/odin-client.global.js"></script>
<script>start(Odin.connect, 'odin-client.global.js');</script>
`;

/** The page importing dist/odin-client.esm.js as a module. */
export const ESM_PAGE = `${HEAD}<script type="module">
  import { connect } from '/odin-client.esm.js';
  start(connect, 'odin-client.esm.js');
</script>
`;
