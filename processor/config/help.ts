/**
 * The processor's `--help` text: usage, the precedence of the property sources, and every property
 * of the catalogue (`./catalogue.ts`: the connectors' and the shared ones) by group, with its flag
 * spellings, description, accepted values and default.
 */
import { APPLICATION_PROPERTIES_ENV, PROPERTY_GROUP_ID } from '../../common/properties/index.js';
import { PROPERTY_SPECS } from './catalogue.js';
import type { PropertySpec } from '../../common/properties/index.js';
import { kebabCase } from './sources.js';

/** The precedence of the property sources, highest last, as printed by `--help` and stated in `./load.ts`. */
export const PRECEDENCE_TEXT = [
  'Each property is read from these sources; a later one overrides an earlier one:',
  '  1. the default shown below',
  `  2. the ApplicationProperties JSON file of --properties FILE (group ${PROPERTY_GROUP_ID}, or a plain {"Name": "value"} object)`,
  `  3. the same JSON document in the environment variable ${APPLICATION_PROPERTIES_ENV}`,
  '  4. an environment variable named exactly like the property (InputKinesisStream=trips)',
  '  5. a flag: --InputKinesisStream trips, --InputKinesisStream=trips or --input-kinesis-stream trips',
  'An empty value means unset (it does not override a lower source). Values are trimmed.',
].join('\n');

function valueHint(spec: PropertySpec): string {
  switch (spec.type) {
    case 'enum':
      return (spec.values ?? []).join('|');
    case 'boolean':
      return 'true|false';
    case 'integer':
    case 'number': {
      const range = spec.min !== undefined || spec.max !== undefined ? ` ${spec.min ?? ''}..${spec.max ?? ''}` : '';
      return `${spec.type}${range}`;
    }
    default:
      return 'value';
  }
}

/** The `--help` text of the processor. */
export function processorHelp(): string {
  const specs: readonly PropertySpec[] = PROPERTY_SPECS;
  const groups = [...new Set(specs.map((spec) => spec.group))];
  const sections = groups.map((group) => {
    const rows = specs
      .filter((spec) => spec.group === group)
      .map((spec) => {
        const spellings = [spec.name, ...(spec.aliases ?? [])].map((name) => `--${name}`);
        const kebab = [spec.name, ...(spec.aliases ?? [])].map((name) => `--${kebabCase(name)}`);
        const dflt = spec.default !== undefined ? ` (default: ${spec.default === '' ? '""' : spec.default})` : '';
        return `  ${spellings.join(', ')} <${valueHint(spec)}>\n      also ${kebab.join(', ')}\n      ${spec.description}${dflt}`;
      });
    return `${group}:\n${rows.join('\n')}`;
  });
  return [
    'Usage: etl-processor [--properties FILE] [--<Property> <value> ...]',
    '',
    'The stream processor: reads one source (a Kinesis stream or a Kafka topic), decodes and validates',
    'the events, and writes them to the configured sinks (S3, OpenSearch, Kinesis, Kafka, discard).',
    '',
    'Options:',
    '  --properties FILE   an ApplicationProperties JSON file (the managed-Flink format)',
    '  --help, -h          this text',
    '',
    PRECEDENCE_TEXT,
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');
}
