#!/usr/bin/env node
// The CDK app (`cdk synth`, `cdk deploy`): the pipeline stack with the processor image built from
// this repository, checked by cdk-nag's AwsSolutions pack. Env-agnostic: synthesizes with no
// credentials; `cdk deploy` takes the account and region from the CLI's environment.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StreamingEtlStack } from '../lib/streaming-etl-stack.js';

const app = new App();
new StreamingEtlStack(app, 'StreamingEtl', { imageSource: 'asset' });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
