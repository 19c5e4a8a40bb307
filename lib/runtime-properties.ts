import { CfnCondition, CfnParameter, Fn } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { PROPERTY_GROUP_ID, PROPERTY_NAMES, PROPERTY_SPECS } from '../common/properties/index.js';
import type { PropertyName, PropertySpec } from '../common/properties/index.js';

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

/**
 * The processor's runtime properties in the cloud: one CloudFormation parameter per entry of the
 * property catalogue (`common/properties`), and one SSM parameter holding them as a managed-Flink
 * ApplicationProperties document, `[{"PropertyGroupId":"FlinkApplicationProperties","PropertyMap":{…}}]`,
 * which the task receives as an ECS secret.
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
  /** The property names grouped as in the catalogue, for the console's parameter groups. */
  readonly groups: ReadonlyMap<PropertySpec['group'], readonly string[]>;

  readonly #values = new Map<PropertyName, string>();

  constructor(scope: Construct, id: string, props: RuntimePropertiesProps) {
    super(scope, id);
    const fixed: Partial<Record<string, string>> = props.fixed ?? { HealthCheckPort: String(HEALTH_CHECK_PORT) };
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
    notes.push(`Empty: the bucket this stack creates (the task role may write only there); '${NO_BUCKET}': no S3 output.`);
  } else if (spec.name === 'CheckpointTable') {
    notes.push('Empty: the table this stack creates. Another table name in this account and region also works; the task role is granted on it.');
  } else if (spec.default === undefined) {
    notes.push('Empty: unset.');
  }
  const description = [spec.description, ...notes].join(' ');
  const defaultValue = spec.default ?? '';
  switch (spec.type) {
    case 'integer':
    case 'number':
      return {
        type: 'String',
        default: defaultValue,
        description: `${description}${rangeText(spec) ? ` Range:${rangeText(spec)}.` : ''}`,
        allowedPattern: spec.type === 'integer' ? '^-?[0-9]*$' : '^(-?[0-9]+(\\.[0-9]+)?)?$',
        constraintDescription: `${spec.type === 'integer' ? 'an integer' : 'a number'}${rangeText(spec)}`,
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
    case 'string':
      return {
        type: 'String',
        default: defaultValue,
        description: `${description} No double quotes or backslashes.`,
        allowedPattern: NO_JSON_SPECIALS,
        constraintDescription: 'a value without double quotes or backslashes',
      };
  }
}

function rangeText(spec: PropertySpec): string {
  if (spec.min !== undefined && spec.max !== undefined) return ` from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return ` of at least ${spec.min}`;
  if (spec.max !== undefined) return ` of at most ${spec.max}`;
  return '';
}
