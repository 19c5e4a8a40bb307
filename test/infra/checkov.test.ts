/**
 * checkov (pinned in scripts/python-env.sh) over both templates — `cdk synth`'s and the one-click
 * template — through scripts/checkov.sh: every finding is acknowledged, with its reason, in
 * scripts/checkov-skips.json, and every acknowledgement there still matches a finding.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { synthesizeOneClickTemplate } from '../../scripts/template.js';
import { REPO_ROOT, releaseSource, synthesize } from './fixtures.js';

interface Skip {
  readonly check: string;
  readonly resources: readonly string[];
  readonly reason: string;
}
interface Finding {
  readonly check: string;
  readonly resource: string;
  readonly file: string;
}

const skips = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'scripts', 'checkov-skips.json'), 'utf8')) as { skips: Skip[] }).skips;

const dir = mkdtempSync(path.join(tmpdir(), 'streaming-etl-checkov-'));
const files = {
  deploy: path.join(dir, 'deploy.template.json'),
  oneClick: path.join(dir, 'one-click.template.json'),
  bad: path.join(dir, 'bad.template.json'),
};
writeFileSync(files.deploy, JSON.stringify(synthesize({ imageSource: 'asset' }).json, null, 1));
writeFileSync(files.oneClick, JSON.stringify(synthesizeOneClickTemplate(releaseSource()), null, 1));
writeFileSync(files.bad, JSON.stringify({ Resources: { Plain: { Type: 'AWS::S3::Bucket', Properties: {} } } }));

// One checkov run (its start-up dominates): both templates, plus a bad one proving the check can fail.
const run = spawnSync('bash', [path.join(REPO_ROOT, 'scripts', 'checkov.sh'), files.deploy, files.oneClick, files.bad], { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
const reports = (() => {
  assert.equal(run.status, 0, run.stderr);
  const parsed = JSON.parse(run.stdout) as unknown;
  return (Array.isArray(parsed) ? parsed : [parsed]) as { results: { failed_checks: { check_id: string; resource: string; file_path: string }[] } }[];
})();
const findings: Finding[] = reports.flatMap((r) =>
  r.results.failed_checks.map((f) => ({ check: f.check_id, resource: f.resource.split('.').slice(1).join('.'), file: path.basename(f.file_path) })),
);
const acknowledged = (f: Finding) => skips.some((s) => s.check === f.check && s.resources.some((prefix) => f.resource.startsWith(prefix)));

describe('checkov', () => {
  test('both templates: every finding is acknowledged in scripts/checkov-skips.json', () => {
    const open = findings.filter((f) => f.file !== path.basename(files.bad) && !acknowledged(f));
    assert.deepEqual(open, []);
  });

  test('every acknowledgement names its reason and still matches a finding', () => {
    for (const s of skips) {
      assert.ok(s.reason.length >= 60, `${s.check} has a real reason`);
      for (const prefix of s.resources) {
        assert.ok(
          findings.some((f) => f.file !== path.basename(files.bad) && f.check === s.check && f.resource.startsWith(prefix)),
          `${s.check} on ${prefix} is still found (otherwise remove it from the skip list)`,
        );
      }
    }
  });

  test('the check can fail: a bare bucket is reported', () => {
    const bad = findings.filter((f) => f.file === path.basename(files.bad)).map((f) => f.check);
    assert.ok(bad.includes('CKV_AWS_18') && bad.includes('CKV_AWS_21'), bad.join());
  });
});
