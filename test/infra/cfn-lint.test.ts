/**
 * cfn-lint (pinned in scripts/python-env.sh) over both templates through scripts/cfn-lint.sh: zero
 * errors; warnings are printed, not failed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { synthesizeOneClickTemplate } from '../../scripts/template.js';
import { REPO_ROOT, releaseSource, synthesize } from './fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'streaming-etl-cfn-lint-'));
const deployTemplate = path.join(dir, 'StreamingEtl.deploy.template.json');
const oneClickTemplate = path.join(dir, 'StreamingEtl.template.json');
writeFileSync(deployTemplate, JSON.stringify(synthesize({ imageSource: 'asset' }).json, null, 1));
writeFileSync(oneClickTemplate, JSON.stringify(synthesizeOneClickTemplate(releaseSource()), null, 1));

function cfnLint(...files: string[]): { status: number | null; lines: string[]; stderr: string } {
  const r = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'cfn-lint.sh'), ...files], { encoding: 'utf8', timeout: 600_000 });
  return { status: r.status, lines: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}

// One cfn-lint run (its start-up dominates): both templates, plus a broken one proving the check can fail.
const bad = path.join(dir, 'bad.template.json');
writeFileSync(bad, JSON.stringify({ Resources: { B: { Type: 'AWS::S3::Bucket', Properties: { NoSuchProperty: 1 } } } }));
const run = cfnLint(deployTemplate, oneClickTemplate, bad);
const errorsIn = (file: string) => run.lines.filter((l) => l.startsWith(`${file}:`) && /:E\d{4}:/.test(l));

describe('cfn-lint', () => {
  test('both templates: zero errors (warnings printed)', () => {
    const warnings = run.lines.filter((l) => !l.startsWith(`${bad}:`) && !/:E\d{4}:/.test(l));
    if (warnings.length > 0) console.log(`cfn-lint warnings:\n${warnings.join('\n')}`);
    assert.deepEqual(errorsIn(deployTemplate), []);
    assert.deepEqual(errorsIn(oneClickTemplate), []);
  });

  test('the check can fail: an invalid property is an error, and the script exits non-zero', () => {
    assert.ok(errorsIn(bad).some((l) => /:E3002:/.test(l)), run.lines.join('\n') + run.stderr);
    assert.notEqual(run.status, 0);
  });
});
