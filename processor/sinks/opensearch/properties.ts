/**
 * The OpenSearch sink's runtime properties, its typed configuration, and how it is created. Loaded
 * by the CDK stack and `--help` through the catalogue: no client import here (`create` imports the
 * sink when called).
 */
import type { PropertySpec } from '../../../common/properties/index.js';
import type { PropertyNameOf, SinkConnector } from '../../connector.js';

/** The OpenSearch sink. */
export interface OpenSearchSinkConfig {
  readonly kind: 'opensearch';
  readonly endpoint: string;
  readonly region?: string;
  readonly bulkFlushMaxBytes: number;
  readonly bulkFlushMaxActions: number;
  readonly bulkFlushIntervalMs: number;
  /** The event field whose value names each document's index (after `indexPrefix`). */
  readonly indexField: string;
  /** Prepended to every index name; '' for none. */
  readonly indexPrefix: string;
  /** The event field whose value is the document id. */
  readonly documentIdField: string;
}

const PROPERTIES = [
  { name: 'OutputElasticsearchEndpoint', group: 'OpenSearch sink', type: 'string', description: 'OpenSearch endpoint URL; the index comes from an event field (the type) and the document id from another (the trip id). Amazon OpenSearch Service endpoints (*.es.amazonaws.com, *.aoss.amazonaws.com) are SigV4-signed.' },
  { name: 'ElasticsearchRegion', group: 'OpenSearch sink', type: 'string', description: 'Region of the OpenSearch domain, for SigV4 signing.' },
  { name: 'ElasticsearchBulkFlushMaxSizeMb', group: 'OpenSearch sink', type: 'integer', default: '4', min: 1, max: 100, description: 'Flush a bulk request at this size (MiB).' },
  { name: 'ElasticsearchBulkFlushMaxActions', group: 'OpenSearch sink', type: 'integer', default: '10000', min: 1, description: 'Flush a bulk request at this many actions.' },
  { name: 'ElasticsearchBulkFlushInterval', group: 'OpenSearch sink', type: 'integer', default: '60000', min: 1, description: 'Flush a bulk request after this long (ms).' },
  { name: 'ElasticsearchIndexField', group: 'OpenSearch sink', type: 'string', default: 'type', description: 'Event field whose value names the index of each document (after ElasticsearchIndexPrefix).' },
  { name: 'ElasticsearchIndexPrefix', group: 'OpenSearch sink', type: 'string', description: 'Prefix of every index name; when set, the index template matches <prefix>*.' },
  { name: 'ElasticsearchDocumentIdField', group: 'OpenSearch sink', type: 'string', default: 'trip_id', description: 'Event field whose value is the document id (a replayed event updates the same document).' },
] as const satisfies readonly PropertySpec[];

type Name = (typeof PROPERTIES)[number]['name'];

const MIB = 1024 * 1024;

/** The OpenSearch sink connector (effectively once). */
export const openSearchSink: SinkConnector<OpenSearchSinkConfig, Name> = {
  kind: 'opensearch',
  properties: PROPERTIES,
  switches: ['OutputElasticsearchEndpoint'],
  hint: { text: 'OutputElasticsearchEndpoint', place: 4 },
  build(values, { fieldNames }) {
    const endpoint = values.str('OutputElasticsearchEndpoint') as string;
    if (!isHttpUrl(endpoint)) {
      values.problem('OutputElasticsearchEndpoint', 'expected an http:// or https:// URL such as https://search-domain.us-east-1.es.amazonaws.com');
      return undefined;
    }
    const openSearch: OpenSearchSinkConfig = {
      kind: 'opensearch',
      endpoint: endpoint.replace(/\/+$/, ''),
      region: values.str('ElasticsearchRegion'),
      bulkFlushMaxBytes: values.num('ElasticsearchBulkFlushMaxSizeMb') * MIB,
      bulkFlushMaxActions: values.num('ElasticsearchBulkFlushMaxActions'),
      bulkFlushIntervalMs: values.num('ElasticsearchBulkFlushInterval'),
      indexField: values.str('ElasticsearchIndexField') ?? 'type',
      indexPrefix: values.str('ElasticsearchIndexPrefix') ?? '',
      documentIdField: values.str('ElasticsearchDocumentIdField') ?? 'trip_id',
    };
    const prefix = openSearch.indexPrefix;
    if (prefix !== '' && (!/^[a-z0-9][a-z0-9._-]*$/.test(prefix) || prefix.length > 200)) {
      values.problem('ElasticsearchIndexPrefix', 'expected the start of an OpenSearch index name: lower-case letters, digits, ".", "_" or "-", not starting with "-", "_" or ".", at most 200 characters');
    }
    if (fieldNames !== undefined) {
      for (const name of ['ElasticsearchIndexField', 'ElasticsearchDocumentIdField'] as const) {
        const field = name === 'ElasticsearchIndexField' ? openSearch.indexField : openSearch.documentIdField;
        if (!fieldNames.includes(field)) values.problem(name, `names no field of the event schema (${fieldNames.join(', ')})`);
      }
    }
    return openSearch;
  },
  async create(config, { schema }) {
    const { OpenSearchSink } = await import('./opensearch-sink.js');
    return new OpenSearchSink({ config, schema });
  },
};

/** The names of the OpenSearch sink's properties. */
export type OpenSearchSinkPropertyName = PropertyNameOf<typeof openSearchSink>;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}
