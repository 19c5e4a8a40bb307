/**
 * Shared set-up of the CDK tests: synthesize a stack variant with the app's own context (cdk.json),
 * and a small evaluator of CloudFormation intrinsics to check what a template computes for given
 * parameter values.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { StackProps } from 'aws-cdk-lib';
import { StreamingEtlStack } from '../../lib/streaming-etl-stack.js';
import type { StreamingEtlStackProps } from '../../lib/streaming-etl-stack.js';
import type { PinnedSource } from '../../lib/stack-parameters.js';
import { archiveSource } from '../../scripts/template.js';

/** The repository root. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The context of cdk.json (the feature flags `cdk synth` uses). */
export function cdkContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
}

/**
 * The pinned source of the one-click variant in tests: what a release would publish, i.e. an https
 * URL and the SHA-256 of a real `git archive` (made once per test file by {@link releaseSource}).
 */
export const RELEASE_URL = 'https://github.com/streaming-etl/streaming-etl/releases/download/v0.1.0/streaming-etl-source.tar.gz';

let released: PinnedSource | undefined;
/** The source a release of HEAD would pin: {@link RELEASE_URL} and the SHA-256 of `git archive HEAD` (as scripts/template.ts makes it). */
export function releaseSource(): PinnedSource {
  if (!released) {
    const sha256 = archiveSource('HEAD', path.join(mkdtempSync(path.join(tmpdir(), 'streaming-etl-release-')), 'source.tar.gz'));
    released = { url: RELEASE_URL, sha256 };
  }
  return released;
}

/** The props of the one-click variant (`imageSource: 'build'` with {@link releaseSource}). */
export function oneClickProps(): StreamingEtlStackProps {
  return { imageSource: 'build', source: releaseSource() };
}

/** A new app with the cdk.json context, asset staging off (hashing only) and the built-in validation off (cfn-lint covers it). */
export function newApp(): App {
  return new App({
    outdir: mkdtempSync(path.join(tmpdir(), 'streaming-etl-cdk-')),
    context: { ...cdkContext(), 'aws:cdk:disable-asset-staging': true },
    builtinCloudFormationValidation: false,
    analyticsReporting: false,
  });
}

/** A synthesized variant of the pipeline stack. */
export interface Synthesized {
  readonly app: App;
  readonly stack: StreamingEtlStack;
  readonly template: Template;
  readonly json: CfnTemplate;
}

/** Synthesizes one stack variant in its own app. */
export function synthesize(props: StreamingEtlStackProps & StackProps = {}): Synthesized {
  const app = newApp();
  const stack = new StreamingEtlStack(app, 'StreamingEtl', props);
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as CfnTemplate };
}

/** The parts of a CloudFormation template the tests read. */
export interface CfnTemplate {
  Parameters: Record<string, { Type: string; Default?: unknown; Description?: string; AllowedValues?: unknown[]; AllowedPattern?: string; MinValue?: unknown; MaxValue?: unknown }>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Condition?: string; Metadata?: unknown; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: string | string[] }>;
  Outputs: Record<string, { Value: unknown; Description?: string }>;
  Rules?: Record<string, { RuleCondition?: unknown; Assertions: { Assert: unknown; AssertDescription: string }[] }>;
  Metadata?: Record<string, unknown>;
}

/** Logical ids of the resources of a type. */
export function resourcesOfType(t: CfnTemplate, type: string): [string, NonNullable<CfnTemplate['Resources'][string]>][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}

/**
 * Evaluates CloudFormation intrinsics as the service would for the given parameter values (others
 * take their defaults). Resources evaluate to `<LogicalId>` (Ref) or `<LogicalId.Attr>` (GetAtt),
 * pseudo parameters to `<AWS::Name>`; Fn::Base64 is left decoded.
 */
export class Evaluator {
  readonly #t: CfnTemplate;
  readonly #params: Record<string, string>;

  constructor(t: CfnTemplate, params: Record<string, string> = {}) {
    this.#t = t;
    for (const name of Object.keys(params)) {
      if (!(name in t.Parameters)) throw new Error(`Evaluator: no parameter ${name}`);
    }
    this.#params = Object.fromEntries(
      Object.entries(t.Parameters).map(([name, p]) => [name, params[name] ?? (p.Default === undefined ? '' : String(p.Default))]),
    );
  }

  /** The truth of a named condition. */
  condition(name: string): boolean {
    const c = this.#t.Conditions[name];
    if (c === undefined) throw new Error(`Evaluator: no condition ${name}`);
    return this.#bool(c);
  }

  #bool(e: unknown): boolean {
    const o = e as Record<string, unknown[]>;
    if (o['Fn::Equals']) return this.value(o['Fn::Equals'][0]) === this.value(o['Fn::Equals'][1]);
    if (o['Fn::Not']) return !this.#bool(o['Fn::Not'][0]);
    if (o['Fn::And']) return o['Fn::And'].every((x) => this.#bool(x));
    if (o['Fn::Or']) return o['Fn::Or'].some((x) => this.#bool(x));
    if (o['Fn::Contains']) return (this.value(o['Fn::Contains'][0]) as unknown[]).map(String).includes(String(this.value(o['Fn::Contains'][1])));
    if (typeof (e as { Condition?: string }).Condition === 'string') return this.condition((e as { Condition: string }).Condition);
    throw new Error(`Evaluator: not a condition: ${JSON.stringify(e)}`);
  }

  /**
   * What CloudFormation would refuse before creating anything: each parameter value against its
   * AllowedValues, AllowedPattern and MinValue/MaxValue, then every Rule's assertions. Empty: accepted.
   */
  refusals(): string[] {
    const out: string[] = [];
    for (const [name, p] of Object.entries(this.#t.Parameters)) {
      const v = this.#params[name] ?? '';
      if (p.AllowedValues && !p.AllowedValues.map(String).includes(v)) out.push(`${name}: '${v}' not in AllowedValues`);
      if (p.AllowedPattern !== undefined && !new RegExp(`^(?:${p.AllowedPattern})$`).test(v)) out.push(`${name}: '${v}' does not match AllowedPattern`);
      if (p.Type === 'Number') {
        const n = Number(v);
        if (v.trim() === '' || Number.isNaN(n)) out.push(`${name}: '${v}' is not a number`);
        if (p.MinValue !== undefined && n < Number(p.MinValue)) out.push(`${name}: ${v} below MinValue`);
        if (p.MaxValue !== undefined && n > Number(p.MaxValue)) out.push(`${name}: ${v} above MaxValue`);
      }
    }
    if (out.length > 0) return out;
    for (const [name, rule] of Object.entries(this.#t.Rules ?? {})) {
      if (rule.RuleCondition !== undefined && !this.#bool(rule.RuleCondition)) continue;
      for (const a of rule.Assertions) if (!this.#bool(a.Assert)) out.push(`${name}: ${a.AssertDescription}`);
    }
    return out;
  }

  /** The value of an expression (strings, numbers, arrays and objects are evaluated deeply). */
  value(e: unknown): unknown {
    if (typeof e === 'string' || typeof e === 'number' || typeof e === 'boolean' || e === null) return e;
    if (Array.isArray(e)) return e.map((x) => this.value(x)).filter((x) => x !== NO_VALUE);
    const o = e as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const a = o[k];
      switch (k) {
        case 'Ref': {
          const name = a as string;
          if (name === 'AWS::NoValue') return NO_VALUE;
          if (name.startsWith('AWS::')) return `<${name}>`;
          if (name in this.#params) return this.#params[name];
          if (name in this.#t.Resources) return `<${name}>`;
          throw new Error(`Evaluator: unknown Ref ${name}`);
        }
        case 'Fn::GetAtt': {
          const [res, attr] = a as [string, string];
          if (!(res in this.#t.Resources)) throw new Error(`Evaluator: unknown GetAtt ${res}`);
          return `<${res}.${attr}>`;
        }
        case 'Fn::If': {
          const [cond, yes, no] = a as [string, unknown, unknown];
          return this.value(this.condition(cond) ? yes : no);
        }
        case 'Fn::Join': {
          const [sep, parts] = a as [string, unknown[]];
          return (this.value(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Split': {
          const [sep, s] = a as [string, unknown];
          return String(this.value(s)).split(sep);
        }
        case 'Fn::Select': {
          const [i, list] = a as [number, unknown];
          return (this.value(list) as unknown[])[Number(i)];
        }
        case 'Fn::Base64':
          // Left decoded, so tests can read user data.
          return this.value(a);
        case 'Fn::Sub': {
          const tmpl = Array.isArray(a) ? (a[0] as string) : (a as string);
          const vars = Array.isArray(a) ? (a[1] as Record<string, unknown>) : {};
          return tmpl.replace(/\$\{([^}!]+)\}/g, (_, name: string) =>
            String(name in vars ? this.value(vars[name]) : this.value(name.includes('.') ? { 'Fn::GetAtt': name.split('.') } : { Ref: name })),
          );
        }
        default:
          if (k.startsWith('Fn::')) throw new Error(`Evaluator: unsupported ${k}`);
      }
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.value(v)]).filter(([, v]) => v !== NO_VALUE));
  }
}

/** What AWS::NoValue evaluates to (dropped from arrays and objects). */
export const NO_VALUE = Symbol('AWS::NoValue');

/** The one resource of a type (fails when there are none or several), typed as the caller expects. */
export function onlyResource<T>(t: CfnTemplate, type: string): T {
  const found = resourcesOfType(t, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]?.[1] as T;
}
