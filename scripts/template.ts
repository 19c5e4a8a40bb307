/**
 * `npm run template`: writes the one-click CloudFormation template, dist/StreamingEtl.template.json.
 *
 * It is the same stack as `cdk deploy` with `imageSource: 'parameter'`: no CDK assets (the processor
 * image is the ProcessorImageUri parameter, the replay host downloads SourceArchiveUrl) and a
 * BootstraplessSynthesizer, so there is no bootstrap-version rule or parameter and the template
 * deploys in any account without `cdk bootstrap`:
 *
 *   1. build and push the image:  docker build -t <uri> . && docker push <uri>
 *   2. upload the template to S3 (it is larger than the 51,200 bytes allowed inline) or use the
 *      console's "Upload a template file", and create the stack with capability CAPABILITY_IAM,
 *      setting ProcessorImageUri and SourceArchiveUrl (or bake them in as defaults, below);
 *   3. open the ReplayHostSession output, paste the ReplayCommand output, watch DashboardUrl, and
 *      run AthenaQuery in the AthenaWorkGroup.
 *
 * Environment: PROCESSOR_IMAGE_URI and SOURCE_ARCHIVE_URL, when set, become the defaults of the two
 * parameters (so a release can publish a template that launches as is); OUT overrides the path.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, BootstraplessSynthesizer } from 'aws-cdk-lib';
import { StreamingEtlStack } from '../lib/streaming-etl-stack.js';

/** The stack (and file) name of the one-click template. */
export const ONE_CLICK_STACK_NAME = 'StreamingEtl';

/** Synthesizes the one-click template and returns it as parsed JSON. */
export function synthesizeOneClickTemplate(options: { readonly imageUri?: string; readonly sourceArchiveUrl?: string } = {}): Record<string, unknown> {
  const repoRoot = path.resolve(import.meta.dirname, '..');
  const context = (JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
  const outdir = mkdtempSync(path.join(tmpdir(), 'streaming-etl-template-'));
  try {
    const app = new App({ outdir, context, analyticsReporting: false });
    const stack = new StreamingEtlStack(app, ONE_CLICK_STACK_NAME, {
      imageSource: 'parameter',
      synthesizer: new BootstraplessSynthesizer(),
      defaultImageUri: options.imageUri,
      defaultSourceArchiveUrl: options.sourceArchiveUrl,
    });
    const assembly = app.synth();
    return assembly.getStackByName(stack.stackName).template as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = path.resolve(process.env.OUT ?? path.join(import.meta.dirname, '..', 'dist', `${ONE_CLICK_STACK_NAME}.template.json`));
  const template = synthesizeOneClickTemplate({
    imageUri: process.env.PROCESSOR_IMAGE_URI || undefined,
    sourceArchiveUrl: process.env.SOURCE_ARCHIVE_URL || undefined,
  });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(template, null, 1)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)} (${Object.keys(template.Parameters as object).length} parameters, ${Object.keys(template.Resources as object).length} resources)`);
}
