/**
 * One real OpenSearch node per test file: `const node = useOpenSearch()` inside a `describe` starts
 * it before the tests and stops it after them; `node.get()` gives the running node, and
 * `uniqueIndex()` a fresh index name for each test.
 */
import { after, before } from 'node:test';
import { OPENSEARCH_JAVA, startOpenSearch, type LocalOpenSearch, type LocalOpenSearchOptions } from '../../local/opensearch.js';
import { uniqueName } from './local.js';
import { javaServicesSkipReason } from './java-services.js';

/** The skip reason for a `describe` that needs OpenSearch (false when it can run). */
export function openSearchSkipReason(): string | false {
  return javaServicesSkipReason(OPENSEARCH_JAVA, true);
}

/** A unique (lower-case) index name for one test. */
export function uniqueIndex(prefix = 'index'): string {
  return uniqueName(prefix);
}

/** Starts a node before the tests of the enclosing `describe` and stops it after them. */
export function useOpenSearch(options: LocalOpenSearchOptions = {}): { get(): LocalOpenSearch } {
  let node: LocalOpenSearch | undefined;
  before(async () => {
    node = await startOpenSearch(options);
  });
  after(async () => {
    await node?.stop();
  });
  return {
    get() {
      if (!node) throw new Error('the OpenSearch node is not running (did before() fail?)');
      return node;
    },
  };
}
