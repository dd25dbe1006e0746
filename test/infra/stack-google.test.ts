import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GoogleConfig, readStackConfig } from '../../infra/config.ts';
import { externalAccountCredentials } from '../../infra/google-federation.ts';
import { PRIORITIES, type Priority } from '../../src/core/constants.ts';
import { byLane } from '../../src/core/lanes.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { everyLane } from '../support/lanes.ts';
import { checkEveryTemplate } from './every-template.ts';
import {
  assetOf,
  expectEnvironmentsBuiltFor,
  GOOGLE_CONTEXT,
  importHandler,
  type Synthesized,
  single,
  synthesize,
} from './synth.ts';

const resources = defineResources();
const gcp = defineGcpResources();

const variablesOf = (template: Template, functionName: string): Record<string, unknown> =>
  (
    single(template, 'AWS::Lambda::Function', { FunctionName: functionName }).properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;

/** A template's string, each `Ref` written `<logicalId>`, each `Fn::Join` joined. */
const joined = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const intrinsic = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (intrinsic.Ref !== undefined) return `<${intrinsic.Ref}>`;
  const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
  return parts.map(joined).join(separator);
};

let withGoogle: Synthesized;

beforeAll(() => {
  withGoogle = synthesize(GOOGLE_CONTEXT);
}, 180_000);

afterAll(() => withGoogle?.dispose());

describe('the stack with a Google project in the context', () => {
  it('lets only the Google function’s service account, with its audience, assume the federation role', () => {
    // Act
    const role = single(withGoogle.template, 'AWS::IAM::Role', {
      RoleName: resources.federation.roleName,
    });

    // Assess
    expect(role.properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRoleWithWebIdentity',
          Principal: { Federated: 'accounts.google.com' },
          Condition: {
            StringEquals: {
              'accounts.google.com:aud': GOOGLE_CONTEXT.gcpServiceAccountUniqueId,
              'accounts.google.com:sub': GOOGLE_CONTEXT.gcpServiceAccountUniqueId,
              'accounts.google.com:oaud': resources.federation.audience,
            },
          },
        },
      ],
    });
  });

  it('allows the federation role only the table, its prefixes of the bucket and sending to the AWS queues', () => {
    // Prepare
    const role = single(withGoogle.template, 'AWS::IAM::Role', {
      RoleName: resources.federation.roleName,
    });
    const table = single(withGoogle.template, 'AWS::DynamoDB::Table', {
      TableName: resources.table.name,
    });
    const bucket = single(withGoogle.template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name });
    const lanes = PRIORITIES.map(
      (lane) => single(withGoogle.template, 'AWS::SQS::Queue', { QueueName: `fanout-aws-${lane}` }).logicalId,
    );
    const objects = (prefix: string) => ({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket.logicalId, 'Arn'] }, `/${prefix}*`]],
    });

    // Act
    const policies = Object.values(
      withGoogle.template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: role.logicalId }] },
      }),
    );

    // Assess
    expect(role.properties.Policies).toBeUndefined();
    expect(role.properties.ManagedPolicyArns).toBeUndefined();
    expect(policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:ConditionCheckItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
        ],
        Resource: { 'Fn::GetAtt': [table.logicalId, 'Arn'] },
      },
      { Effect: 'Allow', Action: 's3:GetObject', Resource: objects(resources.bucket.inputsPrefix) },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: objects(resources.bucket.resultsPrefix) },
      {
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        // IAM's policy minimizing orders them by logical id.
        Resource: lanes.sort().map((lane) => ({ 'Fn::GetAtt': [lane, 'Arn'] })),
      },
    ]);
  });

  it('gives the AWS functions a keyless external-account configuration for the publisher service account', () => {
    // Prepare
    const { pool, provider } = gcp.workloadIdentity;
    const publisher = `${gcp.serviceAccounts.publisher}@${GOOGLE_CONTEXT.gcpProject}.iam.gserviceaccount.com`;

    // Act
    const configurations = [
      resources.functions.ingest.name,
      resources.functions.reconcile.name,
      'fanout-process-aws',
    ].map((name) => JSON.parse(variablesOf(withGoogle.template, name).GCP_CREDENTIALS as string));

    // Assess
    for (const configuration of configurations) {
      expect(configuration).toEqual({
        type: 'external_account',
        audience: `//iam.googleapis.com/projects/${GOOGLE_CONTEXT.gcpProjectNumber}/locations/global/workloadIdentityPools/${pool}/providers/${provider}`,
        subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
        token_url: 'https://sts.googleapis.com/v1/token',
        service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${publisher}:generateAccessToken`,
        credential_source: {
          environment_id: 'aws1',
          regional_cred_verification_url:
            'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
        },
      });
    }
  });

  it('addresses each lane of the Google target by its topic in QUEUES, next to the AWS queue, and names the project', () => {
    // Prepare
    const lane = (name: Priority) =>
      `<${single(withGoogle.template, 'AWS::SQS::Queue', { QueueName: `fanout-aws-${name}` }).logicalId}>`;

    // Act
    const variables = variablesOf(withGoogle.template, resources.functions.ingest.name);

    // Assess
    expect(variables.GOOGLE_CLOUD_PROJECT).toBe(GOOGLE_CONTEXT.gcpProject);
    expect(JSON.parse(joined(variables.QUEUES))).toEqual({
      aws: { high: lane('high'), medium: lane('medium'), low: lane('low') },
      gcp: byLane((name) => `projects/${GOOGLE_CONTEXT.gcpProject}/topics/fanout-gcp-${name}`),
    });
  });

  it('gives each function exactly the environment functionEnvironment builds, and Powertools’ settings', () => {
    // Prepare
    const google = readStackConfig(GOOGLE_CONTEXT).google as GoogleConfig;
    const standIns = {
      [single(withGoogle.template, 'AWS::DynamoDB::Table').logicalId]: 'TABLE',
      [single(withGoogle.template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name }).logicalId]:
        'BUCKET',
      ...Object.fromEntries(
        PRIORITIES.map((lane) => [
          single(withGoogle.template, 'AWS::SQS::Queue', { QueueName: `fanout-aws-${lane}` }).logicalId,
          `${lane}_URL`,
        ]),
      ),
      [single(withGoogle.template, 'AWS::SQS::Queue', { QueueName: 'fanout-aws-dlq' }).logicalId]:
        'DEAD_LETTER_URL',
      [single(withGoogle.template, 'AWS::SQS::Queue', { QueueName: resources.ingestSteps.queueName })
        .logicalId]: 'INGEST_STEPS_URL',
    };
    const deployment = {
      tableName: 'TABLE',
      bucketName: 'BUCKET',
      queues: {
        aws: { high: 'high_URL', medium: 'medium_URL', low: 'low_URL' },
        gcp: byLane((lane) => `projects/${GOOGLE_CONTEXT.gcpProject}/topics/fanout-gcp-${lane}`),
      },
      jobTtlSeconds: resources.jobTtlSeconds,
      jobEventsBus: resources.jobEventsBus,
      ingestSteps: 'INGEST_STEPS_URL',
      googleProject: GOOGLE_CONTEXT.gcpProject,
      gcpCredentials: externalAccountCredentials(google),
      jobEventsTopic: `projects/${GOOGLE_CONTEXT.gcpProject}/topics/fanout-job-events`,
    };

    // Act and Assess
    expectEnvironmentsBuiltFor(withGoogle.template, resources, deployment, standIns);
  });

  it.each([resources.functions.ingest.name, resources.ingestSteps.functionName, 'fanout-process-aws'])(
    'bundles %s so that it loads on Node.js, the Pub/Sub client from its own node_modules',
    async (name) => {
      // Prepare
      const queues = {
        aws: everyLane('https://sqs.example/aws'),
        gcp: byLane((lane) => `projects/acme-fanout/topics/fanout-gcp-${lane}`),
      };

      // Act
      const handler = await importHandler(withGoogle, name, { QUEUES: JSON.stringify(queues) });

      // Assess
      expect(handler).toBe('function');
      expect(
        existsSync(join(assetOf(withGoogle, name), 'node_modules/@google-cloud/pubsub/package.json')),
      ).toBe(true);
    },
  );

  checkEveryTemplate(() => withGoogle);
});
