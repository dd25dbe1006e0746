import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { addFanoutStack } from '../../infra/fanout-app.ts';
import { PROJECT_ROOT } from '../../infra/fanout-function.ts';
import type { FanoutStack } from '../../infra/fanout-stack.ts';
import { type FunctionDeployment, functionEnvironment } from '../../src/config/function-env.ts';
import type { Resources } from '../../src/deploy/resources.ts';
import { everyLane } from '../support/lanes.ts';

/** A Google deployment as `npm run deploy:gcp` reports it: what `cdk deploy -c …` is given. */
export const GOOGLE_CONTEXT = {
  gcpProject: 'acme-fanout',
  gcpProjectNumber: '123456789012',
  gcpServiceAccountUniqueId: '109876543210987654321',
} as const;

/** Skips esbuild: for variants whose function code is not what is being tested. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

export interface Synthesized {
  stack: FanoutStack;
  template: Template;
  annotations: Annotations;
  /** Where the cloud assembly (templates and function assets) was written. */
  outdir: string;
  /** Removes the cloud assembly (the Google variant's function assets are over 100 MB). */
  dispose: () => void;
}

/** The feature flags of cdk.json, so that tests synthesize what `cdk synth` does. */
const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context;

/** Synthesizes the app as `cdk synth` would, with this context on top of cdk.json's. */
export const synthesize = (context: Record<string, unknown> = {}): Synthesized => {
  const outdir = mkdtempSync(join(tmpdir(), 'fanout-synth-'));
  const app = new App({ outdir, context: { ...cdkJsonContext(), ...context } });
  const stack = addFanoutStack(app);
  const template = Template.fromStack(stack);
  return {
    stack,
    template,
    annotations: Annotations.fromStack(stack),
    outdir,
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
};

/** One cfn-lint finding, as its JSON output has it. */
export interface CfnLintFinding {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
}

/** Runs cfn-lint (offline) on a synthesized template written to a temporary folder. */
export const cfnLint = async (template: Template): Promise<CfnLintFinding[]> => {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-cfn-lint-'));
  const file = join(dir, 'template.json');
  writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));
  try {
    // cfn-lint exits non-zero whenever it finds anything (2 errors, 4 warnings, 8 informational).
    const { stdout } = await promisify(execFile)('cfn-lint', ['--format', 'json', '--', file]).catch(
      (error: { stdout?: string; code?: unknown }) => {
        if (typeof error.code !== 'number' || error.stdout === undefined) throw error;
        return { stdout: error.stdout };
      },
    );
    return JSON.parse(stdout) as CfnLintFinding[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** The one resource of a type whose properties match; fails the test when there is not exactly one. */
export const single = (template: Template, type: string, properties: Record<string, unknown> = {}) => {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(properties) }));
  expect(found, `${type} ${JSON.stringify(properties)}`).toHaveLength(1);
  const [[logicalId, resource]] = found as [[string, { Properties: Record<string, unknown> }]];
  return { logicalId, properties: resource.Properties };
};

const functionProperties = (synthesized: Synthesized, functionName: string): Record<string, unknown> => {
  const [fn] = Object.values(
    synthesized.template.findResources('AWS::Lambda::Function', {
      Properties: { FunctionName: functionName },
    }),
  );
  if (fn === undefined) throw new Error(`no function ${functionName} in the template`);
  return fn.Properties;
};

/** The folder of a function's bundle in the cloud assembly. */
export const assetOf = (synthesized: Synthesized, functionName: string): string => {
  const { S3Key } = functionProperties(synthesized, functionName).Code as { S3Key: string };
  return join(synthesized.outdir, `asset.${S3Key.replace(/\.zip$/, '')}`);
};

/** What every function of the stack holds besides its own environment, for Powertools and Node.js. */
export const powertoolsVariables = (serviceName: string) => ({
  POWERTOOLS_SERVICE_NAME: serviceName,
  POWERTOOLS_METRICS_NAMESPACE: 'Fanout',
  NODE_OPTIONS: '--enable-source-maps',
});

/**
 * A function's environment as the template has it, with each `Ref` to a resource replaced by its
 * stand-in in `standIns` (by logical id) and each `Fn::Join` joined: plain strings to compare.
 */
export const environmentWithStandIns = (
  template: Template,
  functionName: string,
  standIns: Record<string, string>,
): Record<string, string> => {
  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const intrinsic = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
    if (intrinsic.Ref !== undefined && intrinsic.Ref in standIns) return standIns[intrinsic.Ref] as string;
    if (intrinsic['Fn::Join'] !== undefined) {
      const [separator, parts] = intrinsic['Fn::Join'];
      return parts.map(resolve).join(separator);
    }
    throw new Error(`no stand-in for ${JSON.stringify(value)} in the environment of ${functionName}`);
  };
  const { Variables } = single(template, 'AWS::Lambda::Function', { FunctionName: functionName }).properties
    .Environment as { Variables: Record<string, unknown> };
  return Object.fromEntries(Object.entries(Variables).map(([name, value]) => [name, resolve(value)]));
};

/** Stand-ins for the variables the template sets from other resources (names, queue URLs). */
const DEPLOYED_NAMES = {
  TABLE_NAME: 'tasks',
  BUCKET_NAME: 'data',
  QUEUES: JSON.stringify({ aws: everyLane('https://sqs.example/aws') }),
  DEAD_LETTER: 'https://sqs.example/aws-dlq',
  INGEST_STEPS: 'https://sqs.example/ingest-steps',
};

/**
 * Imports a function's bundle in a Node.js of its own, as Lambda would, with the environment the stack
 * gives it (stand-ins where the template refers to other resources, then `overrides`); only the module's
 * top level runs: clients are made, nothing is sent. Answers the type of its `handler` export.
 */
export const importHandler = async (
  synthesized: Synthesized,
  functionName: string,
  overrides: Record<string, string> = {},
): Promise<string> => {
  const asset = assetOf(synthesized, functionName);
  const { Variables } = functionProperties(synthesized, functionName).Environment as {
    Variables: Record<string, unknown>;
  };
  const literal = Object.entries(Variables).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  const env = {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...DEPLOYED_NAMES,
    ...Object.fromEntries(literal),
    ...overrides,
  };
  const script = `const m = await import(${JSON.stringify(join(asset, 'index.mjs'))}); console.log(typeof m.handler)`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: asset,
    env,
  });
  return stdout.trim();
};

/**
 * Checks that ingest, the AWS processor and stats each have exactly the environment `functionEnvironment`
 * builds for `deployment`, plus Powertools' settings; `standIns` name the template's resource references.
 */
export const expectEnvironmentsBuiltFor = (
  template: Template,
  resources: Resources,
  deployment: FunctionDeployment,
  standIns: Record<string, string>,
): void => {
  const processor = {
    name: 'processor',
    target: 'aws',
    deadLetter: 'DEAD_LETTER_URL',
    leaseMs: resources.processor.leaseMs,
  } as const;
  const expected = [
    [resources.functions.ingest.name, 'ingest', functionEnvironment(deployment, { name: 'ingest' })],
    [
      resources.ingestSteps.functionName,
      'ingest-step',
      functionEnvironment(deployment, { name: 'ingest-step' }),
    ],
    ['fanout-process-aws', 'process-aws', functionEnvironment(deployment, processor)],
    [resources.functions.stats.name, 'stats', functionEnvironment(deployment, { name: 'stats' })],
    [resources.functions.reconcile.name, 'reconcile', functionEnvironment(deployment, { name: 'reconcile' })],
  ] as const;
  for (const [name, service, environment] of expected) {
    expect(environmentWithStandIns(template, name, standIns)).toEqual({
      ...environment,
      ...powertoolsVariables(service),
    });
  }
};
