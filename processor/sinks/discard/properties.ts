/** The Discard sink's one property, its configuration, and how it is created (for measuring the source). */
import type { PropertySpec } from '../../../common/properties/index.js';
import type { SinkConnector } from '../../connector.js';

/** The Discard sink. */
export interface DiscardSinkConfig {
  readonly kind: 'discard';
}

const PROPERTIES = [
  { name: 'OutputDiscarding', group: 'Discard sink', type: 'boolean', default: 'false', description: 'Read and decode, then discard the events (for measuring the source).' },
] as const satisfies readonly PropertySpec[];

/** The Discard sink connector: counts and drops. */
export const discardSink: SinkConnector<DiscardSinkConfig, (typeof PROPERTIES)[number]['name']> = {
  kind: 'discard',
  properties: PROPERTIES,
  switches: ['OutputDiscarding'],
  hint: { text: 'OutputDiscarding=true', place: 5 },
  build: () => ({ kind: 'discard' }),
  async create() {
    const { DiscardSink } = await import('./discard-sink.js');
    return new DiscardSink();
  },
};
