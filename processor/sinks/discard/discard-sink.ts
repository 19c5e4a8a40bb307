/** The Discard sink (`OutputDiscarding`): counts events and drops them, for measuring the source side. */
import { BaseSink, type SinkRecord } from '../../lifecycle.js';

/** Counts and discards events. */
export class DiscardSink extends BaseSink {
  readonly name = 'discard';
  async write(records: readonly SinkRecord[]): Promise<void> {
    this.eventsOut += records.length;
  }
}
