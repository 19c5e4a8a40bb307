/**
 * The local OpenSearch node (local/opensearch.ts) is a real node that
 * @opensearch-project/opensearch indexes into and searches; it keeps its data over a graceful
 * stop and over kill -9; and its two overload modes really answer 429 to a burst of bulk
 * requests (item-level with a tiny write queue, whole requests with a small indexing-pressure
 * limit), while the same burst passes on a node in its normal mode.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, errors } from '@opensearch-project/opensearch';
import { openSearchSkipReason, uniqueIndex, useOpenSearch } from '../support/opensearch.js';

describe('local OpenSearch node', { skip: openSearchSkipReason() }, () => {
  const node = useOpenSearch();
  const client = (): Client => new Client({ node: node.get().endpoint, maxRetries: 0, requestTimeout: 60_000 });

  /** One bulk request of `docs` documents (about 250 bytes each) into `index`, ids from `first`. */
  const bulkBody = (index: string, first: number, docs: number): Record<string, unknown>[] =>
    Array.from({ length: docs }, (_, i) => [{ index: { _index: index, _id: String(first + i) } }, { n: first + i, text: 'x'.repeat(200) }]).flat();

  /** Sends `requests` bulk requests at once; returns, per request, its HTTP status and how many items got 429. */
  async function burst(index: string, requests: number, docs: number): Promise<{ status: number; rejectedItems: number }[]> {
    const c = client();
    try {
      return await Promise.all(
        Array.from({ length: requests }, async (_, r) => {
          try {
            const response = await c.bulk({ body: bulkBody(index, r * docs, docs) });
            const items = response.body.items as { index?: { status?: number } }[];
            return { status: response.statusCode ?? 0, rejectedItems: items.filter((item) => item.index?.status === 429).length };
          } catch (error) {
            if (error instanceof errors.ResponseError) return { status: error.statusCode, rejectedItems: 0 };
            throw error;
          }
        }),
      );
    } finally {
      await c.close();
    }
  }

  async function count(index: string): Promise<number> {
    const c = client();
    try {
      await c.indices.refresh({ index });
      return (await c.count({ index })).body.count;
    } finally {
      await c.close();
    }
  }

  test('the client indexes a document and finds it by a full-text search', async () => {
    const index = uniqueIndex('trips');
    const c = client();
    try {
      await c.index({ index, id: '4242', body: { trip_id: 4242, vendor: 'Creative Mobile Technologies', fare: 12.5 }, refresh: true });
      const found = await c.search({ index, body: { query: { match: { vendor: 'mobile' } } } });
      const hits = found.body.hits.hits;
      assert.equal(hits.length, 1);
      assert.equal(hits[0]?._id, '4242');
      assert.deepEqual(hits[0]?._source, { trip_id: 4242, vendor: 'Creative Mobile Technologies', fare: 12.5 });
      const health = await c.cluster.health({ index });
      assert.equal(health.body.status, 'green', 'a new index has no replica to wait for on one node');
    } finally {
      await c.close();
    }
  });

  test('documents survive a graceful stop and a kill -9, with restarts on the same port', async () => {
    const index = uniqueIndex('durable');
    const c = client();
    try {
      await c.index({ index, id: 'a', body: { n: 1 }, refresh: true });
      await node.get().halt();
      assert.equal(node.get().pid, undefined);
      await node.get().restart();
      // Not refreshed: it is durable because the translog is synced per request, not because it was searchable.
      await c.index({ index, id: 'b', body: { n: 2 } });
      await node.get().kill();
      await node.get().restart();
    } finally {
      await c.close();
    }
    assert.equal(await count(index), 2);
  });

  test('overload modes answer 429 to a burst of bulk requests; the normal mode takes the same burst', async () => {
    // Given a tiny write pool: a burst is rejected with 429, as items inside HTTP 200 responses or,
    // when the node is slow to answer (a loaded machine), as whole requests
    await node.get().restart({ writeThreads: 1, writeQueueSize: 1 });
    const queued = await burst(uniqueIndex('queue'), 20, 200);
    assert.ok(
      queued.some((r) => (r.status === 200 && r.rejectedItems > 0) || r.status === 429),
      `some bulk items or requests rejected with 429: ${JSON.stringify(queued)}`,
    );

    // Given a small indexing-pressure limit: a small bulk passes, a burst gets HTTP 429 for whole requests
    await node.get().restart({ indexingPressureLimit: '64kb' });
    const index = uniqueIndex('pressure');
    const small = await burst(index, 1, 5);
    assert.deepEqual(small, [{ status: 200, rejectedItems: 0 }], 'one small bulk is under the limit');
    const pressed = await burst(index, 20, 200);
    assert.ok(
      pressed.some((r) => r.status === 429),
      `some bulk requests answered 429: ${JSON.stringify(pressed)}`,
    );

    // Then back in the normal mode the same burst is taken whole
    await node.get().restart({});
    const calm = uniqueIndex('calm');
    const normal = await burst(calm, 20, 200);
    assert.deepEqual(normal.filter((r) => r.status !== 200 || r.rejectedItems > 0), []);
    assert.equal(await count(calm), 20 * 200);
  });
});
