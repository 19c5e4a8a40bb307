/**
 * Reading an OpenSearch index back for assertions: every document with its id, version and
 * source, and one document's raw JSON text (to see 64-bit numbers exactly as stored).
 */
import { Client } from '@opensearch-project/opensearch';

/** One stored document. */
export interface StoredDoc {
  readonly id: string;
  readonly version: number;
  readonly source: Record<string, unknown>;
}

/** A plain client for assertions. */
export function assertionClient(endpoint: string): Client {
  return new Client({ node: endpoint, maxRetries: 0, requestTimeout: 60_000 });
}

/** Every document of the indices matching `index` (refreshed first), through a point-in-time-free scroll. */
export async function readAllDocs(endpoint: string, index: string): Promise<Map<string, StoredDoc[]>> {
  const client = assertionClient(endpoint);
  try {
    await client.indices.refresh({ index });
    const byIndex = new Map<string, StoredDoc[]>();
    let response = await client.search({ index, scroll: '1m', body: { size: 1000, version: true, query: { match_all: {} }, sort: ['_doc'] } });
    for (;;) {
      const hits = response.body.hits.hits as { _index: string; _id: string; _version: number; _source: Record<string, unknown> }[];
      if (hits.length === 0) break;
      for (const hit of hits) {
        const list = byIndex.get(hit._index) ?? [];
        list.push({ id: hit._id, version: hit._version, source: hit._source });
        byIndex.set(hit._index, list);
      }
      response = await client.scroll({ body: { scroll_id: response.body._scroll_id as string, scroll: '1m' } });
    }
    return byIndex;
  } finally {
    await client.close();
  }
}

/** The raw JSON text of one document's `_source`. */
export async function rawSource(endpoint: string, index: string, id: string): Promise<string> {
  const response = await fetch(`${endpoint}/${encodeURIComponent(index)}/_source/${encodeURIComponent(id)}`);
  if (!response.ok) throw new Error(`GET ${index}/_source/${id}: HTTP ${response.status}`);
  return response.text();
}

/** Documents in the indices matching `index`. */
export async function countDocs(endpoint: string, index: string): Promise<number> {
  const client = assertionClient(endpoint);
  try {
    await client.indices.refresh({ index });
    return (await client.count({ index })).body.count;
  } finally {
    await client.close();
  }
}
