// The real transport against the shared Connection conformance cases, in both write modes.
import { bindWebSocket } from '../../src/adapters/transport-ws.js';
import { describeConnectionConformance, type ConnectedPair, type ConnectionHarness } from '../support/connection-conformance.js';
import { connectClient, startFixture, until } from './ws-fixture.js';

for (const mode of ['preframed', 'send'] as const) {
  describeConnectionConformance(`ws (${mode})`, async (): Promise<ConnectionHarness> => {
    const fixture = await startFixture(mode);
    return {
      connect: async () => {
        const client = await connectClient(fixture.url);
        const { conn } = await fixture.nextServerSide();
        const received: string[] = [];
        const pair: { -readonly [K in keyof ConnectedPair]: ConnectedPair[K] } = { conn, received, peerClose: null, reported: { pongs: 0, closedWith: null } };
        client.ws.on('message', (data, isBinary) => {
          if (!isBinary) received.push(String(data));
        });
        client.ws.on('close', (code, reason) => (pair.peerClose = { code, reason: reason.toString('utf8') }));
        bindWebSocket(conn, pair, {
          onMessage: () => undefined,
          onBinaryMessage: () => undefined,
          onWritable: () => undefined,
          onPong: () => pair.reported.pongs++,
          onClosed: (_pair, code) => (pair.reported.closedWith = code),
        });
        return pair;
      },
      until: (condition) => until(condition),
      close: () => fixture.close(),
    };
  });
}
