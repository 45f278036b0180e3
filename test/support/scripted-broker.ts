// A broker the test drives by hand: it emits exactly the events and statuses the test says, so faults the
// real brokers produce only under outages (lost ranges, a new epoch) can be staged in a few lines.
import type { Broker, BrokerEvent, BrokerSink, HistoryRequest, HistoryResult, PublishResult } from '../../src/core/ports.js';

export class ScriptedBroker implements Broker {
  currentEpoch = 'E1';
  sink: BrokerSink | null = null;
  /** What readHistory answers; by default the history is gone. */
  history: (request: HistoryRequest) => HistoryResult = () => ({ ok: false, reason: 'history_expired' });
  readonly requests: HistoryRequest[] = [];

  epoch(): string {
    return this.currentEpoch;
  }

  start(sink: BrokerSink): void {
    this.sink = sink;
    sink.onStatus('live');
  }

  stop(): void {
    this.sink = null;
  }

  readHistory(request: HistoryRequest, done: (result: HistoryResult) => void): void {
    this.requests.push(request);
    done(this.history(request));
  }

  publish(_channel: string, _data: string, done: (result: PublishResult) => void): void {
    done({ ok: false, reason: 'scripted broker: use emit()' });
  }

  emit(channel: string, offset: number, prev: number | null, data: unknown = offset): void {
    const event: BrokerEvent = { channel, offset, prev, data: JSON.stringify(data) };
    this.sink!.onEvent(event);
  }
}
