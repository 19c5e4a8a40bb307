/**
 * `npm run template`: writes the one-click CloudFormation template, dist/StreamingEtl.template.json,
 * and the source archive it launches from, dist/streaming-etl-source.tar.gz.
 *
 * The template is the same stack as `cdk deploy` with `imageSource: 'build'`: no CDK assets and a
 * BootstraplessSynthesizer (no bootstrap rule or parameter), so it deploys in any account without
 * `cdk bootstrap`. It launches with every default: a CodeBuild project in the stack builds the
 * processor image from the source archive, and the replay host installs from the same archive;
 * both check the archive's SHA-256, which is a parameter default baked in here.
 *
 * How a release produces it (README, "One-click launch"):
 *   SOURCE_ARCHIVE_URL=https://github.com/OWNER/streaming-etl/releases/download/v1.2.3/streaming-etl-source.tar.gz \
 *   SOURCE_COMMIT=v1.2.3 npm run template
 *   then attach dist/streaming-etl-source.tar.gz (under that exact URL) and dist/StreamingEtl.template.json
 *   to the release.
 *
 * Environment:
 *   SOURCE_ARCHIVE_URL  (required) the https URL the archive will be published at;
 *   SOURCE_COMMIT       the commit or tag archived with `git archive` (default HEAD);
 *   SOURCE_SHA256       with SOURCE_ARCHIVE_URL, use an archive already published instead of making
 *                       one (its SHA-256, 64 hex digits); nothing is archived then;
 *   OUT                 the template's path (default dist/StreamingEtl.template.json).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, BootstraplessSynthesizer } from 'aws-cdk-lib';
import { EtlError } from '../common/errors.js';
import type { PinnedSource } from '../lib/stack-parameters.js';
import { StreamingEtlStack } from '../lib/streaming-etl-stack.js';

/** The stack (and file) name of the one-click template. */
export const ONE_CLICK_STACK_NAME = 'StreamingEtl';
/** The file name of the source archive a release publishes next to the template. */
export const SOURCE_ARCHIVE_NAME = 'streaming-etl-source.tar.gz';

/** Making the release template failed: a missing or bad input, or `git archive` failed. */
export class TemplateError extends EtlError {}

/** Synthesizes the one-click template for a pinned source archive and returns it as parsed JSON. */
export function synthesizeOneClickTemplate(source: PinnedSource): Record<string, unknown> {
  const repoRoot = path.resolve(import.meta.dirname, '..');
  const context = (JSON.parse(readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
  const outdir = mkdtempSync(path.join(tmpdir(), 'streaming-etl-template-'));
  try {
    const app = new App({ outdir, context, analyticsReporting: false });
    const stack = new StreamingEtlStack(app, ONE_CLICK_STACK_NAME, {
      imageSource: 'build',
      synthesizer: new BootstraplessSynthesizer(),
      source,
    });
    const assembly = app.synth();
    return assembly.getStackByName(stack.stackName).template as Record<string, unknown>;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Archives a commit of this repository with `git archive` (one top-level folder, `streaming-etl/`)
 * into `file`, and returns the archive's SHA-256.
 */
export function archiveSource(commit: string, file: string): string {
  const repoRoot = path.resolve(import.meta.dirname, '..');
  const r = spawnSync('git', ['archive', '--format=tar.gz', '--prefix=streaming-etl/', '-o', file, commit], { cwd: repoRoot, encoding: 'utf8' });
  if (r.error) throw new TemplateError(`git archive ${commit} failed to start`, { cause: r.error });
  if (r.status !== 0) throw new TemplateError(`git archive ${commit} exited ${r.status}: ${r.stderr.trim()}`);
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function main(): void {
  const url = process.env.SOURCE_ARCHIVE_URL ?? '';
  if (url === '') {
    throw new TemplateError('SOURCE_ARCHIVE_URL is not set: give the https URL the release publishes the source archive at (the template pins it, with its SHA-256, as the default)');
  }
  const dist = path.join(import.meta.dirname, '..', 'dist');
  mkdirSync(dist, { recursive: true });
  let sha256 = process.env.SOURCE_SHA256 ?? '';
  if (sha256 === '') {
    const archive = path.join(dist, SOURCE_ARCHIVE_NAME);
    sha256 = archiveSource(process.env.SOURCE_COMMIT || 'HEAD', archive);
    console.log(`wrote ${path.relative(process.cwd(), archive)} (sha256 ${sha256}): publish it at ${url}`);
  }
  const out = path.resolve(process.env.OUT ?? path.join(dist, `${ONE_CLICK_STACK_NAME}.template.json`));
  const template = synthesizeOneClickTemplate({ url, sha256 });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(template, null, 1)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)} (${Object.keys(template.Parameters as object).length} parameters, ${Object.keys(template.Resources as object).length} resources)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    console.error(`template: ${error.message}`);
    process.exit(2);
  }
}
