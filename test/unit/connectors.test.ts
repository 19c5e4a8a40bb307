/**
 * The connector registry (processor/connectors.ts) is the one list of connectors, and everything
 * about properties derives from it: each property is declared once (by one connector or the shared
 * set), the catalogue keeps the order and groups the CDK stack and `--help` use, every connector
 * folder is registered, and what the CDK and `--help` load imports no SDK. So adding a connector is
 * a new folder and one registry line.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { SHARED_PROPERTIES } from '../../common/properties/index.js';
import { PROPERTIES_BY_OWNER, PROPERTY_SPECS, kebabCase } from '../../processor/config/index.js';
import { SINK_CONNECTORS, SOURCE_CONNECTORS } from '../../processor/connectors.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The catalogue as it was before the connectors owned their properties: name and group, in order. */
const CATALOGUE_BEFORE: readonly (readonly [string, string])[] = [
  ...['InputKinesisStream', 'InputStreamRegion', 'InputStreamInitalPosition', 'InputStreamInitialTimestamp', 'InputKafkaBootstrapServers', 'InputKafkaTopic', 'InputKafkaGroupId', 'InputKafkaStartingPosition', 'InputKafkaSecurityProtocol', 'InputKafkaSaslMechanism', 'InputKafkaSaslUsername', 'InputKafkaSaslPassword'].map((name) => [name, 'Source'] as const),
  ...['OutputBucket', 'OutputPrefix', 'ParquetConversion', 'ParquetEncoder', 'ParquetCompression', 'OutputPartitionTemplate', 'OutputErrorPrefix', 'OutputRolloverSizeMb', 'OutputRolloverInterval', 'OutputInactivityInterval'].map((name) => [name, 'S3 sink'] as const),
  ...['OutputElasticsearchEndpoint', 'ElasticsearchRegion', 'ElasticsearchBulkFlushMaxSizeMb', 'ElasticsearchBulkFlushMaxActions', 'ElasticsearchBulkFlushInterval', 'ElasticsearchIndexField', 'ElasticsearchIndexPrefix', 'ElasticsearchDocumentIdField'].map((name) => [name, 'OpenSearch sink'] as const),
  ...['OutputKinesisStream', 'OutputStreamRegion'].map((name) => [name, 'Kinesis sink'] as const),
  ...['OutputKafkaBootstrapServers', 'OutputKafkaTopic', 'OutputKafkaCompression', 'OutputKafkaSecurityProtocol', 'OutputKafkaSaslMechanism', 'OutputKafkaSaslUsername', 'OutputKafkaSaslPassword'].map((name) => [name, 'Kafka sink'] as const),
  ['OutputDiscarding', 'Discard sink'],
  ...['ApplicationName', 'CheckpointInterval', 'CheckpointTable', 'LeaseDuration', 'LeaseRenewInterval', 'LeaseBalanceInterval', 'MaxLeasesPerWorker'].map((name) => [name, 'Checkpoints'] as const),
  ...['EventSchema', 'StatusInterval', 'MetricsNamespace', 'HealthCheckPort'].map((name) => [name, 'Operations'] as const),
];

describe('connector registry', () => {
  test('every property is declared by exactly one connector or the shared set, and the catalogue is those declarations in registry order', () => {
    const declared = [...SOURCE_CONNECTORS, ...SINK_CONNECTORS].flatMap((connector) => connector.properties.map((spec) => spec.name));
    const all = [...declared, ...SHARED_PROPERTIES.map((spec) => spec.name)];
    assert.deepEqual(PROPERTY_SPECS.map((spec) => spec.name), all);
    for (const spec of PROPERTY_SPECS) {
      const owners = PROPERTIES_BY_OWNER.filter((owned) => owned.specs.some((candidate) => candidate.name === spec.name)).map((owned) => owned.owner);
      assert.equal(owners.length, 1, `${spec.name} is declared by ${owners.join(', ') || 'nobody'}`);
    }
  });

  test('property names and aliases are unique, in every spelling a flag or variable can take', () => {
    const spellings = PROPERTY_SPECS.flatMap((spec) => [spec.name, ...(spec.aliases ?? [])]);
    assert.equal(new Set(spellings).size, spellings.length, 'a name or alias is declared twice');
    const kebab = spellings.map(kebabCase);
    assert.equal(new Set(kebab).size, kebab.length, 'two names share a kebab-case flag');
  });

  test('the catalogue keeps the order and groups the CDK stack and --help use (new properties may join their connector)', () => {
    const catalogue = PROPERTY_SPECS.map((spec) => [spec.name, spec.group] as const);
    // The properties there were before keep their group and relative order.
    const kept = catalogue.filter(([name]) => CATALOGUE_BEFORE.some(([before]) => before === name));
    assert.deepEqual(kept, CATALOGUE_BEFORE);
    // Each group is one run of the catalogue, in the same order as before.
    const runs = catalogue.map(([, group]) => group).filter((group, i, groups) => i === 0 || groups[i - 1] !== group);
    assert.deepEqual(runs, ['Source', 'S3 sink', 'OpenSearch sink', 'Kinesis sink', 'Kafka sink', 'Discard sink', 'Checkpoints', 'Operations']);
  });

  test('each connector is one registry entry: kinds unique, switches and source-only properties are its own, no-sink message places distinct', () => {
    for (const list of [SOURCE_CONNECTORS, SINK_CONNECTORS]) {
      const kinds = list.map((connector) => connector.kind);
      assert.equal(new Set(kinds).size, kinds.length, `kinds ${kinds.join(', ')}`);
      assert.equal(new Set<object>(list).size, list.length, 'a connector is registered twice');
    }
    for (const connector of [...SOURCE_CONNECTORS, ...SINK_CONNECTORS]) {
      const own = new Set<string>(connector.properties.map((spec) => spec.name));
      for (const name of connector.switches) assert.ok(own.has(name), `${connector.kind}: switch ${name} is not its own property`);
    }
    for (const source of SOURCE_CONNECTORS) {
      const own = new Set<string>(source.properties.map((spec) => spec.name));
      for (const name of source.onlyForThisSource) assert.ok(own.has(name), `${source.kind}: ${name} is not its own property`);
    }
    const places = SINK_CONNECTORS.map((sink) => sink.hint.place);
    assert.equal(new Set(places).size, places.length, `no-sink message places ${places.join(', ')}`);
  });

  test('every connector folder is registered once, through its properties.ts, and nothing else is', async () => {
    const registered: object[] = [];
    for (const side of ['sources', 'sinks']) {
      const dir = path.join(ROOT, 'processor', side);
      for (const folder of readdirSync(dir).filter((name) => statSync(path.join(dir, name)).isDirectory())) {
        const module = (await import(path.join(dir, folder, 'properties.ts'))) as Record<string, unknown>;
        const connectors = Object.values(module).filter((value): value is object => typeof value === 'object' && value !== null && 'create' in value && 'properties' in value);
        assert.equal(connectors.length, 1, `${side}/${folder}/properties.ts exports ${connectors.length} connectors`);
        const list: readonly object[] = side === 'sources' ? SOURCE_CONNECTORS : SINK_CONNECTORS;
        assert.ok(list.includes(connectors[0] as object), `${side}/${folder} is not in the registry (processor/connectors.ts)`);
        registered.push(connectors[0] as object);
      }
    }
    assert.equal(registered.length, SOURCE_CONNECTORS.length + SINK_CONNECTORS.length, 'the registry lists a connector that has no folder');
  });

  test("configuration building names no connector's property: those rules live in the connector folders", () => {
    const connectorNames = [...SOURCE_CONNECTORS, ...SINK_CONNECTORS].flatMap((connector) => connector.properties.flatMap((spec) => [spec.name, ...(spec.aliases ?? [])]));
    for (const file of ['build.ts', 'catalogue.ts', 'help.ts', 'sources.ts', 'resolve.ts', 'load.ts']) {
      const code = readFileSync(path.join(ROOT, 'processor', 'config', file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const named = connectorNames.filter((name) => code.includes(`'${name}'`) || code.includes(`\`${name}`) || code.includes(`"${name}"`));
      assert.deepEqual(named, [], `processor/config/${file} names connector properties`);
    }
  });

  test('what the CDK stack and --help load imports no package: the registry, the catalogue and every properties.ts (implementations load in create)', () => {
    const seen = new Set<string>();
    const packages: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      // Static imports and re-exports that load code (not `import type`, not dynamic import()).
      for (const match of code.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
        const specifier = match[1] as string;
        if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
        else if (!specifier.startsWith('node:')) packages.push(`${path.relative(ROOT, file)} imports ${specifier}`);
      }
    };
    visit(path.join(ROOT, 'processor', 'config', 'catalogue.ts'));
    visit(path.join(ROOT, 'processor', 'config', 'help.ts'));
    assert.deepEqual(packages, []);
    for (const side of ['sources', 'sinks']) {
      for (const folder of readdirSync(path.join(ROOT, 'processor', side))) {
        const file = path.join(ROOT, 'processor', side, folder, 'properties.ts');
        if (statSync(path.dirname(file)).isDirectory()) assert.ok(seen.has(file), `${path.relative(ROOT, file)} is not reached from the catalogue`);
      }
    }
  });
});
