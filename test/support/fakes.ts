// In-memory stand-ins for the core's ports: a connection that records what the gateway wrote, and a
// telemetry sink that records counters.
import type { Connection, Frame, Labels, Telemetry } from '../../src/core/ports.js';
import type { ServerMessage } from '../../src/core/protocol.js';

const utf8 = new TextDecoder();

export class FakeConnection implements Connection {
  /** Every write() call, as the list of frames it carried. */
  readonly writes: Frame[][] = [];
  buffered = 0;
  pings = 0;
  closed: { code: number; reason: string } | null = null;
  terminated = false;

  write(frames: readonly Frame[]): void {
    this.writes.push([...frames]);
  }

  bufferedBytes(): number {
    return this.buffered;
  }

  ping(): void {
    this.pings++;
  }

  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }

  terminate(): void {
    this.terminated = true;
  }

  frames(): Frame[] {
    return this.writes.flat();
  }

  /** Every message written, in order; a batched frame (one message per line) gives each of its lines. */
  messages(): ServerMessage[] {
    return this.frames().flatMap((f) =>
      utf8
        .decode(f.bytes)
        .split('\n')
        .map((line) => JSON.parse(line) as ServerMessage),
    );
  }

  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages().filter((m) => m.type === type) as Extract<ServerMessage, { type: T }>[];
  }

  clear(): void {
    this.writes.length = 0;
  }
}

export class RecordingTelemetry implements Telemetry {
  readonly counts = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly logs: { level: string; message: string }[] = [];

  count(name: string, labels?: Labels, by = 1): void {
    const key = labels === undefined ? name : `${name}${JSON.stringify(labels)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  gauge(name: string, value: number): void {
    this.gauges.set(name, value);
  }

  observe(): void {}

  log(level: string, message: string): void {
    this.logs.push({ level, message });
  }
}
