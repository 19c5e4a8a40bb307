/**
 * The S3 output location agrees between the processor and the stack, for each form: the created
 * bucket, another bucket, a path in a bucket (s3://bucket/path/), and the root (OutputPrefix '/').
 * The processor's side is its own configuration read from the stack's SSM document; the stack's
 * side is the task role's grants, the Glue table and the OutputLocation output, evaluated for the
 * same parameters.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APPLICATION_PROPERTIES_ENV } from '../../common/properties/index.js';
import { CANONICAL_KEY_PREFIX_PATTERN, CANONICAL_OUTPUT_BUCKET_PATTERN, parseS3Location } from '../../common/s3/index.js';
import { loadConfig } from '../../processor/config/index.js';
import { Evaluator, oneClickProps, onlyResource, resourcesOfType, synthesize } from './fixtures.js';

const { json } = synthesize(oneClickProps());
const createdBucketId = resourcesOfType(json, 'AWS::S3::Bucket').find(([, r]) => r.Properties?.LoggingConfiguration)?.[0] ?? '';
/** What CloudFormation would name the created bucket (the evaluator gives `<LogicalId>`). */
const CREATED = 'streamingetl-storagebucket-1a2b3c4d';
const physical = (text: string) => text.replaceAll(`<${createdBucketId}>`, CREATED);

/** The processor's S3 sink for the given stack parameters. */
async function processorSink(params: Record<string, string>): Promise<{ bucket: string; prefix: string; errorPrefix: string }> {
  const ssm = onlyResource<{ Properties: { Value: unknown } }>(json, 'AWS::SSM::Parameter');
  const document = physical(new Evaluator(json, params).value(ssm.Properties.Value) as string).replace(/<([A-Za-z0-9]+)>/g, (_, id: string) => `streamingetl-${id.toLowerCase()}-1a2b3c4d`);
  const loaded = await loadConfig({ argv: [], env: { [APPLICATION_PROPERTIES_ENV]: document } });
  if (loaded.help) throw new Error('unexpected --help');
  const sink = loaded.config.sinks.find((s) => s.kind === 's3');
  assert.ok(sink && sink.kind === 's3');
  return { bucket: sink.bucket, prefix: sink.prefix, errorPrefix: sink.errorPrefix };
}

/** What the stack grants and declares for the given parameters. */
function stackSide(params: Record<string, string>) {
  const ev = new Evaluator(json, params);
  assert.deepEqual(ev.refusals(), [], JSON.stringify(params));
  const statements = resourcesOfType(json, 'AWS::IAM::Policy').flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: { Sid?: string; Resource: unknown }[] }).Statement);
  const sid = (s: string) => statements.find((x) => x.Sid === s)?.Resource;
  const table = onlyResource<{ Properties: { TableInput: { StorageDescriptor: { Location: unknown }; Parameters: Record<string, unknown> } } }>(json, 'AWS::Glue::Table');
  return {
    write: (ev.value(sid('WriteOutputPrefixes')) as string[]).map(physical),
    list: physical(String(ev.value(sid('ListOutputBucket')))),
    glue: physical(String(ev.value(table.Properties.TableInput.StorageDescriptor.Location))),
    glueTemplate: physical(String(ev.value(table.Properties.TableInput.Parameters['storage.location.template']))),
    output: physical(String(ev.value(json.Outputs.OutputLocation?.Value))),
  };
}

const FORMS: [string, Record<string, string>, { bucket: string; prefix: string; errorPrefix: string }][] = [
  ['the created bucket', {}, { bucket: CREATED, prefix: 'parquet/', errorPrefix: 'errors/' }],
  ['another bucket', { OutputBucket: 'other-bucket' }, { bucket: 'other-bucket', prefix: 'parquet/', errorPrefix: 'errors/' }],
  ['a path in a bucket', { OutputBucket: 's3://other-bucket/team/taxi/' }, { bucket: 'other-bucket', prefix: 'team/taxi/parquet/', errorPrefix: 'team/taxi/errors/' }],
  ['the root of a path', { OutputBucket: 's3://other-bucket/team/', OutputPrefix: '/' }, { bucket: 'other-bucket', prefix: 'team/', errorPrefix: 'team/errors/' }],
  ['the root of the created bucket', { OutputPrefix: '/', OutputErrorPrefix: 'dead/letters/' }, { bucket: CREATED, prefix: '', errorPrefix: 'dead/letters/' }],
  ['the root of another bucket, s3:// form', { OutputBucket: 's3://other-bucket/', OutputPrefix: '/' }, { bucket: 'other-bucket', prefix: '', errorPrefix: 'errors/' }],
];

describe('S3 location: processor and stack agree', () => {
  for (const [form, params, expected] of FORMS) {
    test(form, async () => {
      const sink = await processorSink(params);
      assert.deepEqual(sink, expected);
      const s = stackSide(params);
      assert.deepEqual(s.write.sort(), [`arn:<AWS::Partition>:s3:::${sink.bucket}/${sink.errorPrefix}*`, `arn:<AWS::Partition>:s3:::${sink.bucket}/${sink.prefix}*`].sort());
      assert.equal(s.list, `arn:<AWS::Partition>:s3:::${sink.bucket}`);
      assert.equal(s.glue, `s3://${sink.bucket}/${sink.prefix}`);
      assert.equal(s.glueTemplate, `s3://${sink.bucket}/${sink.prefix}pickup_location=\${pickup_location}/year=\${year}/month=\${month}/`);
      assert.equal(s.output, `s3://${sink.bucket}/${sink.prefix}`);
    });
  }

  test('no S3 output (\'-\'): the processor has no S3 sink, the grants fall back to the created bucket', async () => {
    const ssm = onlyResource<{ Properties: { Value: unknown } }>(json, 'AWS::SSM::Parameter');
    const document = new Evaluator(json, { OutputBucket: '-', OutputKinesisStream: 'copy' }).value(ssm.Properties.Value) as string;
    const loaded = await loadConfig({ argv: [], env: { [APPLICATION_PROPERTIES_ENV]: document.replace(/<([A-Za-z0-9]+)>/g, 'streamingetl-x-1a2b3c4d') } });
    assert.ok(!loaded.help && !loaded.config.sinks.some((s) => s.kind === 's3'));
    assert.equal(stackSide({ OutputBucket: '-', OutputKinesisStream: 'copy' }).list, `arn:<AWS::Partition>:s3:::${CREATED}`);
  });

  test('every value the stack\'s patterns accept, the processor parses to the same bucket; the rest the stack refuses', () => {
    const bucketPattern = new RegExp(`^${CANONICAL_OUTPUT_BUCKET_PATTERN}$`);
    const prefixPattern = new RegExp(`^${CANONICAL_KEY_PREFIX_PATTERN}$`);
    const accepted = ['my-bucket', 'a.b.c', 's3://my-bucket/', 's3://my-bucket/a/', 's3://my-bucket/a b/c=1/'];
    const refused = ['My-Bucket', 's3://my-bucket', 's3://my-bucket/a', 's3://my-bucket//', 's3://my-bucket/a//b/', 'arn:aws:s3:::b', 'b/c', '"x"'];
    for (const v of accepted) {
      assert.match(v, bucketPattern);
      const parsed = parseS3Location(v);
      assert.ok(typeof parsed !== 'string', `${v}: ${String(parsed)}`);
      assert.equal(parsed.bucket, v.replace(/^s3:\/\//, '').split('/')[0]);
    }
    for (const v of refused) assert.doesNotMatch(v, bucketPattern, v);
    for (const v of ['/', 'a/', 'a/b/', 'x=1/']) assert.match(v, prefixPattern, v);
    for (const v of ['', 'a', '/a/', 'a//', 'a"/']) assert.doesNotMatch(v, prefixPattern, v);
  });
});
