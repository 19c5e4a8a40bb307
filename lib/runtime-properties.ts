import { CfnCondition, CfnParameter, Fn } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { CfnRule } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { PROPERTY_GROUP_ID } from '../common/properties/index.js';
import type { PropertySpec } from '../common/properties/index.js';
import { PROPERTY_NAMES, PROPERTY_SPECS } from '../processor/config/catalogue.js';
import type { PropertyName } from '../processor/config/catalogue.js';
import { CANONICAL_KEY_PREFIX_PATTERN, CANONICAL_OUTPUT_BUCKET_PATTERN } from '../common/s3/index.js';
import { integerRangePattern } from './integer-pattern.js';

/** The port the processor serves GET /health on inside the task (the container health check calls it). */
export const HEALTH_CHECK_PORT = 8080;

/** The value of OutputBucket that turns the S3 sink off (an empty value means "the created bucket"). */
export const NO_BUCKET = '-';

/** Properties of {@link RuntimeProperties}. */
export interface RuntimePropertiesProps {
  /** The created stream: the value of InputKinesisStream when it and InputKafkaTopic are empty. */
  readonly stream: kinesis.IStream;
  /** The created bucket: the value of OutputBucket when it is empty. */
  readonly bucket: s3.IBucket;
  /** The created checkpoint table: the value of CheckpointTable when it is empty. */
  readonly checkpointTable: dynamodb.ITable;
  /**
   * Properties the stack sets itself instead of offering a parameter.
   * @default { HealthCheckPort: '8080' } (the container health check depends on it)
   */
  readonly fixed?: Readonly<Partial<Record<PropertyName, string>>>;
}

/** Characters a property value may not contain: it is spliced into a JSON string by CloudFormation. */
const NO_JSON_SPECIALS = '^[^"\\\\]*$';

/** Ports of Kafka brokers the stack opens when Kafka is configured (MSK: plaintext, TLS, SASL/SCRAM, IAM). */
export const KAFKA_PORTS = { from: 9092, to: 9098 } as const;
/** The port of a self-managed OpenSearch node the stack opens when OutputElasticsearchEndpoint is set (443 is always open). */
export const OPENSEARCH_HTTP_PORT = 9200;

const HOST = '[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?';
const KAFKA_SERVER = `${HOST}:909[2-8]`;
/**
 * Patterns of the properties the stack constrains beyond their type, each a subset of what the
 * processor accepts (processor/config): the S3 location in its canonical forms (common/s3), Kafka
 * host:port lists on the broker ports the security group opens, and OpenSearch URLs on 443 or 9200.
 */
export const PROPERTY_PATTERNS: Readonly<Partial<Record<PropertyName, { readonly pattern: string; readonly constraint: string }>>> = {
  OutputBucket: {
    pattern: `^(|-|${CANONICAL_OUTPUT_BUCKET_PATTERN})$`,
    constraint: "empty (the created bucket), '-' (no S3 output), a bucket name, or s3://bucket/path/ (path segments ending in '/')",
  },
  OutputPrefix: { pattern: `^${CANONICAL_KEY_PREFIX_PATTERN}$`, constraint: "'/' (the bucket or path root) or a prefix such as parquet/ (segments ending in '/')" },
  OutputErrorPrefix: { pattern: `^${CANONICAL_KEY_PREFIX_PATTERN}$`, constraint: "'/' or a prefix such as errors/ (segments ending in '/')" },
  // The stack grants by name (stream/NAME, table/NAME in this account and region), so names only.
  InputKinesisStream: { pattern: '^([A-Za-z0-9_.-]{1,128})?$', constraint: 'empty (the created stream) or a stream name in this account and region' },
  OutputKinesisStream: { pattern: '^([A-Za-z0-9_.-]{1,128})?$', constraint: 'empty or a stream name in this account and region' },
  CheckpointTable: { pattern: '^([A-Za-z0-9_.-]{3,255})?$', constraint: 'empty (the created table) or a DynamoDB table name: 3 to 255 letters, digits, "_", "-" or "."' },
  InputKafkaBootstrapServers: { pattern: `^(${KAFKA_SERVER}(,${KAFKA_SERVER})*)?$`, constraint: 'empty or comma-separated host:port pairs on ports 9092-9098' },
  OutputKafkaBootstrapServers: { pattern: `^(${KAFKA_SERVER}(,${KAFKA_SERVER})*)?$`, constraint: 'empty or comma-separated host:port pairs on ports 9092-9098' },
  InputKafkaTopic: { pattern: '^[A-Za-z0-9._-]{0,249}$', constraint: 'empty or a Kafka topic name: letters, digits, ".", "_" or "-"' },
  OutputKafkaTopic: { pattern: '^[A-Za-z0-9._-]{0,249}$', constraint: 'empty or a Kafka topic name: letters, digits, ".", "_" or "-"' },
  InputKafkaGroupId: { pattern: '^[A-Za-z0-9._-]{0,249}$', constraint: 'empty or a consumer group id: letters, digits, ".", "_" or "-"' },
  OutputKafkaTransactionalIdPrefix: { pattern: '^[A-Za-z0-9._-]{0,200}$', constraint: 'empty (ApplicationName) or a prefix of transactional ids: up to 200 letters, digits, ".", "_" or "-"' },
  OutputElasticsearchEndpoint: {
    pattern: `^(https://${HOST}(:(443|${OPENSEARCH_HTTP_PORT}))?/?|http://${HOST}:${OPENSEARCH_HTTP_PORT}/?)?$`,
    constraint: `empty, https://host (port 443 or ${OPENSEARCH_HTTP_PORT}) or http://host:${OPENSEARCH_HTTP_PORT}`,
  },
};

/** What a property needs in the cloud, added to its catalogue description in the parameter's description. */
const CLOUD_NOTES: Readonly<Partial<Record<PropertyName, string>>> = {
  InputKafkaBootstrapServers: `Needs InputKafkaTopic (and InputKinesisStream empty). Brokers on ports ${KAFKA_PORTS.from}-${KAFKA_PORTS.to}, reachable from the VPC (the security group opens these ports only when a bootstrap-servers property is set); for MSK with IAM auth also set MskClusterArn.`,
  InputKafkaTopic: 'Needs InputKafkaBootstrapServers; then the created stream is not read.',
  OutputKafkaBootstrapServers: `Needs OutputKafkaTopic. Brokers on ports ${KAFKA_PORTS.from}-${KAFKA_PORTS.to}, reachable from the VPC; for MSK with IAM auth also set MskClusterArn.`,
  OutputKafkaTopic: 'Needs OutputKafkaBootstrapServers.',
  OutputElasticsearchEndpoint: `An https:// endpoint (port 443) of a domain reachable from the VPC, or http(s)://host:${OPENSEARCH_HTTP_PORT}; for an Amazon OpenSearch domain also set OpenSearchDomainArn (the task role signs with SigV4).`,
  OutputKinesisStream: 'A stream in this account and region; the task role may write only to it.',
};

/**
 * The processor's runtime properties in the cloud: one CloudFormation parameter per entry of the
 * property catalogue (`processor/config/catalogue.ts`, derived from the connector registry), and
 * one SSM parameter holding them as a managed-Flink ApplicationProperties document,
 * `[{"PropertyGroupId":"FlinkApplicationProperties","PropertyMap":{…}}]`, which the task receives
 * as an ECS secret.
 *
 * CloudFormation parameters cannot default to a resource, so the properties that should point at
 * created resources (InputKinesisStream, OutputBucket, CheckpointTable) default to '' and an
 * `Fn::If` puts the created resource's name in the document while they are empty.
 */
export class RuntimeProperties extends Construct {
  /** The CloudFormation parameter of each property that is not fixed, by property name. */
  readonly parameters: Readonly<Partial<Record<PropertyName, CfnParameter>>>;
  /** The SSM parameter holding the ApplicationProperties JSON. */
  readonly ssmParameter: ssm.StringParameter;
  /** The ApplicationProperties JSON (a token resolving to Fn::Join). */
  readonly json: string;
  /**
   * A string that changes whenever any effective property value changes: put into the task
   * definition so that a parameter change creates a new revision and rolls the service.
   */
  readonly version: string;
  /** True when the processor reads the created stream (InputKinesisStream and InputKafkaTopic empty). */
  readonly useCreatedInputStream: CfnCondition;
  /** True when InputKinesisStream names another stream (same account and region). */
  readonly hasCustomInputStream: CfnCondition;
  /** True when CheckpointTable is empty (the created table is used). */
  readonly useCreatedCheckpointTable: CfnCondition;
  /** True when OutputKinesisStream is set. */
  readonly hasOutputKinesisStream: CfnCondition;
  /** True when OutputElasticsearchEndpoint is set. */
  readonly hasOpenSearchEndpoint: CfnCondition;
  /** True when either Kafka bootstrap-servers property is set. */
  readonly usesKafka: CfnCondition;
  /** True when OutputBucket is empty (the created bucket). */
  readonly useCreatedBucket: CfnCondition;
  /** True when OutputBucket is '-' (no S3 output). */
  readonly noBucket: CfnCondition;
  /** The console label of each property's parameter, by name. */
  readonly labels: Readonly<Record<string, string>>;
  /** The property names grouped as in the catalogue, for the console's parameter groups. */
  readonly groups: ReadonlyMap<PropertySpec['group'], readonly string[]>;

  readonly #values = new Map<PropertyName, string>();

  constructor(scope: Construct, id: string, props: RuntimePropertiesProps) {
    super(scope, id);
    // InputFile (the bounded file source) is for the command line: backfills and benchmarks. The
    // stack runs the processor as a long-running ECS service, which would start a finished bounded
    // job again and again, so the stack offers no InputFile parameter and passes it empty.
    const fixed: Partial<Record<string, string>> = props.fixed ?? { HealthCheckPort: String(HEALTH_CHECK_PORT), InputFile: '' };
    for (const [name, value] of Object.entries(fixed)) {
      if (!(PROPERTY_NAMES as readonly string[]).includes(name)) {
        throw new Error(`RuntimeProperties: fixed names an unknown property '${name}' (known: ${PROPERTY_NAMES.join(', ')})`);
      }
      if (typeof value !== 'string' || /["\\]/.test(value)) {
        throw new Error(`RuntimeProperties: fixed.${name} must be a string without quotes or backslashes, got ${JSON.stringify(value)}`);
      }
    }

    const parameters: Partial<Record<PropertyName, CfnParameter>> = {};
    const groups = new Map<PropertySpec['group'], string[]>();
    for (const spec of PROPERTY_SPECS as readonly PropertySpec[]) {
      const name = spec.name as PropertyName;
      if (fixed[name] !== undefined) continue;
      const p = new CfnParameter(this, name, parameterOptions(spec));
      p.overrideLogicalId(name);
      parameters[name] = p;
      groups.set(spec.group, [...(groups.get(spec.group) ?? []), name]);
    }
    this.parameters = parameters;
    this.groups = groups;

    const ref = (name: PropertyName): string => {
      const p = parameters[name];
      if (!p) throw new Error(`RuntimeProperties: ${name} is fixed and has no parameter`);
      return p.valueAsString;
    };
    const condition = (cid: string, expression: ReturnType<typeof Fn.conditionEquals>): CfnCondition => {
      const c = new CfnCondition(this, cid, { expression });
      c.overrideLogicalId(cid);
      return c;
    };
    const isEmpty = (name: PropertyName) => Fn.conditionEquals(ref(name), '');
    const isSet = (name: PropertyName) => Fn.conditionNot(isEmpty(name));

    this.useCreatedInputStream = condition('UseCreatedInputStream', Fn.conditionAnd(isEmpty('InputKinesisStream'), isEmpty('InputKafkaTopic')));
    this.hasCustomInputStream = condition('HasCustomInputStream', isSet('InputKinesisStream'));
    const useCreatedBucket = condition('UseCreatedOutputBucket', isEmpty('OutputBucket'));
    const noBucket = condition('OutputBucketDisabled', Fn.conditionEquals(ref('OutputBucket'), NO_BUCKET));
    this.useCreatedBucket = useCreatedBucket;
    this.noBucket = noBucket;
    this.labels = Object.fromEntries(Object.keys(parameters).map((name) => [name, label(name)]));

    // Rules: what the processor would refuse between properties, refused before anything is created.
    const rule = (rid: string, assertion: ReturnType<typeof Fn.conditionEquals>, text: string, when?: ReturnType<typeof Fn.conditionEquals>) => {
      new CfnRule(this, rid, { ...(when ? { ruleCondition: when } : {}), assertions: [{ assert: assertion, assertDescription: text }] }).overrideLogicalId(rid);
    };
    const setIn = (name: PropertyName) => Fn.conditionNot(Fn.conditionEquals(ref(name), ''));
    rule('OneSource', Fn.conditionNot(Fn.conditionAnd(setIn('InputKinesisStream'), setIn('InputKafkaTopic'))), 'Set InputKinesisStream or InputKafkaTopic, not both: the processor reads exactly one source.');
    for (const [topic, servers] of [['InputKafkaTopic', 'InputKafkaBootstrapServers'], ['OutputKafkaTopic', 'OutputKafkaBootstrapServers']] as const) {
      rule(`${topic}NeedsServers`, setIn(servers), `${topic} needs ${servers} (a Kafka topic needs both).`, setIn(topic));
      rule(`${servers}NeedTopic`, setIn(topic), `${servers} needs ${topic} (a Kafka topic needs both).`, setIn(servers));
    }
    // Kafka security of a direction in use: AWS_MSK_IAM takes no SCRAM user or password; SCRAM needs both.
    for (const d of ['Input', 'Output'] as const) {
      const sasl = (iam: boolean) =>
        Fn.conditionAnd(
          setIn(`${d}KafkaBootstrapServers`),
          Fn.conditionEquals(ref(`${d}KafkaSecurityProtocol`), 'SASL_SSL'),
          iam ? Fn.conditionEquals(ref(`${d}KafkaSaslMechanism`), 'AWS_MSK_IAM') : Fn.conditionNot(Fn.conditionEquals(ref(`${d}KafkaSaslMechanism`), 'AWS_MSK_IAM')),
        );
      rule(
        `${d}KafkaIamTakesNoPassword`,
        Fn.conditionAnd(Fn.conditionEquals(ref(`${d}KafkaSaslUsername`), ''), Fn.conditionEquals(ref(`${d}KafkaSaslPassword`), '')),
        `${d}KafkaSaslMechanism AWS_MSK_IAM signs with the task role: leave ${d}KafkaSaslUsername and ${d}KafkaSaslPassword empty.`,
        sasl(true),
      );
      rule(
        `${d}KafkaScramNeedsCredentials`,
        Fn.conditionAnd(setIn(`${d}KafkaSaslUsername`), setIn(`${d}KafkaSaslPassword`)),
        `${d}KafkaSecurityProtocol SASL_SSL with a SCRAM mechanism needs ${d}KafkaSaslUsername and ${d}KafkaSaslPassword.`,
        sasl(false),
      );
    }
    rule(
      'AtTimestampNeedsTimestamp',
      setIn('InputStreamInitialTimestamp'),
      'InputStreamInitalPosition AT_TIMESTAMP needs InputStreamInitialTimestamp (an ISO-8601 time).',
      Fn.conditionEquals(ref('InputStreamInitalPosition'), 'AT_TIMESTAMP'),
    );
    rule('ErrorPrefixDiffersFromDataPrefix', Fn.conditionNot(Fn.conditionEquals(ref('OutputPrefix'), ref('OutputErrorPrefix'))), 'OutputErrorPrefix must differ from OutputPrefix, or dead letters mix with the data.');
    this.useCreatedCheckpointTable = condition('UseCreatedCheckpointTable', isEmpty('CheckpointTable'));
    this.hasOutputKinesisStream = condition('HasOutputKinesisStream', isSet('OutputKinesisStream'));
    this.hasOpenSearchEndpoint = condition('HasOpenSearchEndpoint', isSet('OutputElasticsearchEndpoint'));
    this.usesKafka = condition('UsesKafka', Fn.conditionOr(isSet('InputKafkaBootstrapServers'), isSet('OutputKafkaBootstrapServers')));

    for (const spec of PROPERTY_SPECS) {
      const name: PropertyName = spec.name;
      const fixedValue = fixed[name];
      let value: string;
      if (fixedValue !== undefined) value = fixedValue;
      else if (name === 'InputKinesisStream') {
        value = Fn.conditionIf(this.useCreatedInputStream.logicalId, props.stream.streamName, ref(name)).toString();
      } else if (name === 'OutputBucket') {
        value = Fn.conditionIf(
          useCreatedBucket.logicalId,
          props.bucket.bucketName,
          Fn.conditionIf(noBucket.logicalId, '', ref(name)),
        ).toString();
      } else if (name === 'CheckpointTable') {
        value = Fn.conditionIf(this.useCreatedCheckpointTable.logicalId, props.checkpointTable.tableName, ref(name)).toString();
      } else value = ref(name);
      this.#values.set(name, value);
    }

    // The document, spliced together by Fn::Join: every value lands inside a JSON string, which is
    // why string parameters reject double quotes and backslashes (AllowedPattern).
    const parts: string[] = [`[{"PropertyGroupId":${JSON.stringify(PROPERTY_GROUP_ID)},"PropertyMap":{`];
    PROPERTY_SPECS.forEach((spec, i) => {
      parts.push(`${i === 0 ? '' : ','}${JSON.stringify(spec.name)}:"`, this.value(spec.name), '"');
    });
    parts.push('}}]');
    this.json = Fn.join('', parts);
    // Why a version string and not just the secret: ECS resolves secrets once, when a task starts, and
    // a stack update that changes only the SSM parameter leaves the task definition (and so the
    // service) untouched. CloudFormation has no hash function, so the version is the effective values
    // themselves, joined: any change makes a new task definition revision, which rolls the service.
    this.version = Fn.join('|', PROPERTY_SPECS.map((spec) => this.value(spec.name)));

    this.ssmParameter = new ssm.StringParameter(this, 'Parameter', {
      description: 'Runtime properties of the streaming-etl processor (managed-Flink ApplicationProperties JSON), from the stack parameters',
      stringValue: this.json,
      // Standard parameters hold 4 KB; long values overflow into the advanced tier automatically.
      tier: ssm.ParameterTier.INTELLIGENT_TIERING,
    });
  }

  /** The effective value of a property as it appears in the document (a token). */
  value(name: PropertyName): string {
    const v = this.#values.get(name);
    if (v === undefined) throw new Error(`RuntimeProperties: unknown property '${name}'`);
    return v;
  }

  /** The CloudFormation parameter of a property (throws for fixed properties). */
  parameter(name: PropertyName): CfnParameter {
    const p = this.parameters[name];
    if (!p) throw new Error(`RuntimeProperties: property '${name}' is fixed by the stack and has no parameter`);
    return p;
  }
}

/** The CloudFormation parameter options of one property spec. */
function parameterOptions(spec: PropertySpec): ConstructorParameters<typeof CfnParameter>[2] {
  const notes: string[] = [];
  if (spec.name === 'InputKinesisStream') {
    notes.push('Empty: the stream this stack creates (unless InputKafkaTopic is set). The name of another stream in this account and region also works (the task role is granted read on it).');
  } else if (spec.name === 'OutputBucket') {
    notes.push(`Empty: the bucket this stack creates. '${NO_BUCKET}': no S3 output. Another bucket or s3://bucket/path/ also works; the task role may write only under the path's OutputPrefix and OutputErrorPrefix, and the Glue table follows the path.`);
  } else if (spec.name === 'CheckpointTable') {
    notes.push('Empty: the lease table this stack creates (retained on stack deletion). Another table in this account and region works if it has the same keys (partition key application, sort key leaseKey, strings); the task role is granted on it.');
  } else if (spec.default === undefined) {
    notes.push('Empty: unset.');
  }
  const cloud = CLOUD_NOTES[spec.name as PropertyName];
  if (cloud) notes.push(cloud);
  const description = [spec.description, ...notes].join(' ');
  const defaultValue = spec.default ?? '';
  switch (spec.type) {
    case 'integer':
      // The range is in the pattern itself: CloudFormation's MinValue/MaxValue would allow 1.5.
      return {
        type: 'String',
        default: defaultValue,
        description: `${description}${rangeText(spec) ? ` Range:${rangeText(spec)}.` : ''}`,
        allowedPattern: `^${spec.default === undefined ? '(' : ''}${integerRangePattern(spec.min ?? 0, spec.max)}${spec.default === undefined ? ')?' : ''}$`,
        constraintDescription: `an integer${rangeText(spec) || ' of at least 0'}`,
      };
    case 'number':
      return {
        type: 'String',
        default: defaultValue,
        description: `${description}${rangeText(spec) ? ` Range:${rangeText(spec)}.` : ''}`,
        allowedPattern: '^(-?[0-9]+(\\.[0-9]+)?)?$',
        constraintDescription: `a number${rangeText(spec)}`,
      };
    case 'boolean':
      return { type: 'String', default: defaultValue, description, allowedValues: ['true', 'false'] };
    case 'enum':
      return {
        type: 'String',
        default: defaultValue,
        description,
        allowedValues: [...(spec.default === undefined ? [''] : []), ...(spec.values ?? [])],
      };
    case 'string': {
      const special = PROPERTY_PATTERNS[spec.name as PropertyName];
      return {
        type: 'String',
        // A SCRAM password is not shown in the console or by DescribeStacks.
        ...(spec.name.endsWith('Password') ? { noEcho: true } : {}),
        default: defaultValue,
        description: special ? description : `${description} No double quotes or backslashes.`,
        allowedPattern: special?.pattern ?? NO_JSON_SPECIALS,
        constraintDescription: special?.constraint ?? 'a value without double quotes or backslashes',
      };
    }
  }
}

/** A console label from a property name: `InputKinesisStream` -> `Input Kinesis stream (InputKinesisStream)`. */
function label(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' ');
  const text = words.map((w, i) => (i === 0 || /^[A-Z]{2,}/.test(w) || ['Kinesis', 'Kafka', 'Parquet', 'Elasticsearch', 'Mb'].includes(w) ? w : w.toLowerCase())).join(' ');
  return `${text} (${name})`;
}

function rangeText(spec: PropertySpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return ` of at least ${spec.min}`;
  if (spec.max !== undefined) return ` of at most ${spec.max}`;
  return '';
}
