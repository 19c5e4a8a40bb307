/** The OpenSearch sink: documents from events, effectively once, SigV4-signed for AWS endpoints. */
export { OpenSearchSink } from './opensearch-sink.js';
export type { OpenSearchSinkOptions, OpenSearchSinkStats } from './opensearch-sink.js';
export { awsSigningFor } from './endpoint.js';
export type { AwsSigning } from './endpoint.js';
export { createOpenSearchClient } from './client.js';
export type { OpenSearchClientOptions, SigningCredentials } from './client.js';
export { DocumentEncoder, ORDER_FIELD, mappingFor, orderKey } from './documents.js';
export { OpenSearchSinkError } from './errors.js';
