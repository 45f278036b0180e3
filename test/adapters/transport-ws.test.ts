// Guards the pre-framed write path: bytes we frame ourselves and write to ws's private socket must be
// exactly what a real ws client decodes, in order, alongside ws's own pings and close frames.
import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { frameOf } from '../../src/core/codec.js';
import { bindWebSocket, truncateUtf8, wireBytes, wireChunks } from '../../src/adapters/transport-ws.js';
import { connectClient, startFixture, until, type Fixture } from './ws-fixture.js';

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

function eventText(n: number, padBytes = 0): string {
  return JSON.stringify({ type: 'event', ch: 'odin.token.ABC.trade', offset: n, prev: n - 1, data: { pad: 'x'.repeat(padBytes), n } });
}

describe('wireBytes', () => {
  it('frames once per Frame object, without copying the payload', () => {
    const frame = frameOf('{"a":1}');
    expect(wireChunks(frame)).toBe(wireChunks(frame));
    const [header, payload] = wireChunks(frame);
    expect([...header!]).toEqual([0x81, 7]);
    expect(payload!.buffer).toBe(frame.bytes.buffer);
    expect(wireChunks(frameOf(''))).toHaveLength(1);
  });

  it('uses the 16-bit and 64-bit length forms at their thresholds', () => {
    expect(wireBytes(frameOf('a'.repeat(125)))[1]).toBe(125);
    const medium = wireBytes(frameOf('a'.repeat(126)));
    expect([medium[1], medium.readUInt16BE(2), medium.length]).toEqual([126, 126, 130]);
    const large = wireBytes(frameOf('a'.repeat(65_536)));
    expect([large[1], large.readUIntBE(4, 6), large.length]).toEqual([127, 65_536, 65_546]);
  });
});

describe.each(['preframed', 'send'] as const)('WsConnection (%s)', (mode) => {
  it('delivers one shared frame byte-identical to many real clients', async () => {
    fixture = await startFixture(mode);
    const clients: Array<Awaited<ReturnType<typeof connectClient>>> = [];
    const servers: Array<Awaited<ReturnType<Fixture['nextServerSide']>>> = [];
    for (let i = 0; i < 20; i++) {
      clients.push(await connectClient(fixture.url));
      servers.push(await fixture.nextServerSide());
    }
    expect(servers[0]!.conn.mode).toBe(mode);
    const text = eventText(58, 300);
    const frame = frameOf(text);
    for (const side of servers) side.conn.write([frame]);
    await until(() => clients.every((c) => c.messages.length === 1));
    for (const client of clients) {
      const [message] = client.messages;
      expect(message!.isBinary).toBe(false);
      expect(message!.data.equals(Buffer.from(text))).toBe(true);
      expect(JSON.parse(message!.data.toString('utf8'))).toMatchObject({ type: 'event', offset: 58, prev: 57 });
    }
    for (const client of clients) client.ws.terminate();
  });

  it('delivers a coalesced write of several frames as separate messages, in order', async () => {
    fixture = await startFixture(mode);
    const client = await connectClient(fixture.url);
    const { conn } = await fixture.nextServerSide();
    // Sizes cross every length encoding, including an empty payload.
    const texts = ['', eventText(1), eventText(2, 200), eventText(3, 70_000), eventText(4)];
    conn.write(texts.map(frameOf));
    conn.write([frameOf(eventText(5))]);
    await until(() => client.messages.length === texts.length + 1);
    expect(client.messages.map((m) => m.data.toString('utf8'))).toEqual([...texts, eventText(5)]);
    client.ws.terminate();
  });

  it('interleaves with ws pings and ends with the close frame, dropping writes after close', async () => {
    fixture = await startFixture(mode);
    const client = await connectClient(fixture.url);
    const { conn } = await fixture.nextServerSide();
    let pings = 0;
    client.ws.on('ping', () => pings++);
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      client.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    conn.write([frameOf(eventText(1))]);
    conn.ping();
    conn.write([frameOf(eventText(2)), frameOf(eventText(3))]);
    conn.close(1001, 'going away; retry-after-ms=1500');
    conn.write([frameOf(eventText(4))]);
    expect(await closed).toEqual({ code: 1001, reason: 'going away; retry-after-ms=1500' });
    expect(pings).toBe(1);
    expect(client.messages.map((m) => JSON.parse(m.data.toString()).offset)).toEqual([1, 2, 3]);
  });
});

describe('WsConnection write path', () => {
  it('hands several frames to the kernel in one writev', async () => {
    fixture = await startFixture('preframed');
    const client = await connectClient(fixture.url);
    const { ws, conn } = await fixture.nextServerSide();
    const socket = (ws as unknown as { _socket: { _writev: (...args: unknown[]) => unknown; _write: (...args: unknown[]) => unknown } })._socket;
    const calls: string[] = [];
    const writev = socket._writev.bind(socket);
    const write = socket._write.bind(socket);
    socket._writev = (chunks: unknown, cb: unknown) => {
      calls.push(`writev:${(chunks as unknown[]).length}`);
      return writev(chunks, cb);
    };
    socket._write = (chunk: unknown, encoding: unknown, cb: unknown) => {
      calls.push('write');
      return write(chunk, encoding, cb);
    };
    conn.write([frameOf(eventText(1)), frameOf(eventText(2)), frameOf(eventText(3))]);
    conn.write([frameOf(eventText(4))]);
    await until(() => client.messages.length === 4);
    // Header and payload of each frame: 3 frames → 6 chunks; a lone frame is still one writev of 2.
    expect(calls).toEqual(['writev:6', 'writev:2']);
    client.ws.terminate();
  });

  it('puts exactly the pre-framed bytes on the wire', async () => {
    fixture = await startFixture('preframed');
    const port = Number(new URL(fixture.url).port);
    const raw = netConnect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const { conn } = await fixture.nextServerSide();
    const frames = [frameOf(eventText(1)), frameOf(eventText(2, 500))];
    const expected = Buffer.concat(frames.map(wireBytes));
    await until(() => Buffer.concat(chunks).includes('\r\n\r\n'));
    conn.write(frames);
    const bodyOf = () => {
      const all = Buffer.concat(chunks);
      return all.subarray(all.indexOf('\r\n\r\n') + 4);
    };
    await until(() => bodyOf().length >= expected.length);
    expect(bodyOf().equals(expected)).toBe(true);
    raw.destroy();
  });

  it('falls back to ws.send when permessage-deflate was negotiated', async () => {
    fixture = await startFixture('preframed', { perMessageDeflate: true });
    const client = await connectClient(fixture.url, { perMessageDeflate: true });
    const { conn } = await fixture.nextServerSide();
    expect(conn.mode).toBe('send');
    conn.write([frameOf(eventText(1)), frameOf(eventText(2))]);
    await until(() => client.messages.length === 2);
    expect(client.messages.map((m) => JSON.parse(m.data.toString()).offset)).toEqual([1, 2]);
    client.ws.terminate();
  });
});

describe('bindWebSocket', () => {
  it('routes text, binary, pong and close into the core', async () => {
    fixture = await startFixture();
    const client = await connectClient(fixture.url);
    const { conn } = await fixture.nextServerSide();
    const seen: string[] = [];
    bindWebSocket(conn, 's1', {
      onMessage: (session, text) => seen.push(`${session} text:${text}`),
      onBinaryMessage: (session) => seen.push(`${session} binary`),
      onWritable: (session) => seen.push(`${session} writable`),
      onPong: (session) => seen.push(`${session} pong`),
      onClosed: (session, code) => seen.push(`${session} closed:${code}`),
    });
    client.ws.send('{"type":"ping","id":1}');
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    conn.ping();
    await until(() => seen.length === 3);
    client.ws.close(1000);
    await until(() => seen.length === 4);
    expect(seen).toEqual(['s1 text:{"type":"ping","id":1}', 's1 binary', 's1 pong', 's1 closed:1000']);
  });

  it('serves many sockets from one events object, each reporting its own session', async () => {
    fixture = await startFixture();
    const seen: string[] = [];
    const events = {
      onMessage: (session: string, text: string) => seen.push(`${session}:${text}`),
      onBinaryMessage: () => undefined,
      onWritable: () => undefined,
      onPong: () => undefined,
      onClosed: (session: string, code: number) => seen.push(`${session} closed:${code}`),
    };
    const a = await connectClient(fixture.url);
    bindWebSocket((await fixture.nextServerSide()).conn, 'a', events);
    const b = await connectClient(fixture.url);
    bindWebSocket((await fixture.nextServerSide()).conn, 'b', events);
    b.ws.send('from b');
    await until(() => seen.length === 1);
    a.ws.send('from a');
    await until(() => seen.length === 2);
    a.ws.close(1000);
    await until(() => seen.length === 3);
    b.ws.close(4000);
    await until(() => seen.length === 4);
    expect(seen).toEqual(['b:from b', 'a:from a', 'a closed:1000', 'b closed:4000']);
  });

  it('lets ws close 1009 on a frame over maxPayload', async () => {
    fixture = await startFixture('preframed', { maxPayload: 1024 });
    const client = await connectClient(fixture.url);
    const { conn } = await fixture.nextServerSide();
    const seen: string[] = [];
    bindWebSocket(conn, 's', {
      onMessage: () => seen.push('text'),
      onBinaryMessage: () => seen.push('binary'),
      onWritable: () => undefined,
      onPong: () => undefined,
      onClosed: (_s, code) => seen.push(`closed:${code}`),
      onError: (_s, error) => seen.push(`error:${(error as Error & { code?: string }).code}`),
    });
    const clientClose = new Promise<number>((resolve) => client.ws.once('close', resolve));
    client.ws.send('x'.repeat(2048));
    expect(await clientClose).toBe(1009);
    await until(() => seen.some((s) => s.startsWith('closed')));
    expect(seen).toEqual(['error:WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', 'closed:1009']);
  });

  it('reports writability once a backed-up socket drains', async () => {
    fixture = await startFixture();
    const client = await connectClient(fixture.url);
    const { conn } = await fixture.nextServerSide();
    let writable = 0;
    bindWebSocket(conn, 's', {
      onMessage: () => undefined,
      onBinaryMessage: () => undefined,
      onWritable: () => writable++,
      onPong: () => undefined,
      onClosed: () => undefined,
    });
    const clientSocket = (client.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    clientSocket.pause();
    const big = frameOf(JSON.stringify({ pad: 'y'.repeat(1024 * 1024) }));
    for (let i = 0; i < 16; i++) conn.write([big]);
    expect(conn.bufferedBytes()).toBeGreaterThan(0);
    expect(writable).toBe(0);
    clientSocket.resume();
    await until(() => writable > 0, 10_000);
    expect(conn.bufferedBytes()).toBe(0);
    await until(() => client.messages.length === 16, 10_000);
    client.ws.terminate();
  });
});

describe('truncateUtf8', () => {
  it('keeps whole characters within the byte limit', () => {
    expect(truncateUtf8('abc', 123)).toBe('abc');
    expect(truncateUtf8('é'.repeat(100), 123)).toBe('é'.repeat(61));
    expect(Buffer.byteLength(truncateUtf8('😀'.repeat(40), 123))).toBeLessThanOrEqual(123);
    expect(truncateUtf8('😀'.repeat(40), 123)).toBe('😀'.repeat(30));
  });
});
