import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineGcpResources } from '../../src/cloud/gcp-resources.ts';
import { defineResources } from '../../src/cloud/resources.ts';
import { checkEveryTemplate } from './every-template.ts';
import { GOOGLE_CONTEXT, type Synthesized, synthesize } from './synth.ts';

const resources = defineResources();
const gcp = defineGcpResources();

const resourceOf = (template: Template, type: string, properties: Record<string, unknown>) => {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(properties) }));
  expect(found, `${type} ${JSON.stringify(properties)}`).toHaveLength(1);
  const [[logicalId, resource]] = found as [[string, { Properties: Record<string, unknown> }]];
  return { logicalId, properties: resource.Properties };
};

const variablesOf = (template: Template, functionName: string): Record<string, unknown> =>
  (
    resourceOf(template, 'AWS::Lambda::Function', { FunctionName: functionName }).properties.Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;

let withGoogle: Synthesized;

beforeAll(() => {
  withGoogle = synthesize(GOOGLE_CONTEXT);
}, 180_000);

afterAll(() => withGoogle?.dispose());

describe('the stack with a Google project in the context', () => {
  it('lets only the Google function’s service account, with its audience, assume the federation role', () => {
    // Act
    const role = resourceOf(withGoogle.template, 'AWS::IAM::Role', {
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
    const role = resourceOf(withGoogle.template, 'AWS::IAM::Role', {
      RoleName: resources.federation.roleName,
    });
    const table = resourceOf(withGoogle.template, 'AWS::DynamoDB::Table', {
      TableName: resources.table.name,
    });
    const bucket = resourceOf(withGoogle.template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name });
    const queue = resourceOf(withGoogle.template, 'AWS::SQS::Queue', { QueueName: 'fanout-aws' });
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
        Resource: { 'Fn::GetAtt': [queue.logicalId, 'Arn'] },
      },
    ]);
  });

  it('gives the AWS functions a keyless external-account configuration for the publisher service account', () => {
    // Prepare
    const { pool, provider } = gcp.workloadIdentity;
    const publisher = `${gcp.serviceAccounts.publisher}@${GOOGLE_CONTEXT.gcpProject}.iam.gserviceaccount.com`;

    // Act
    const configurations = [resources.functions.ingest.name, 'fanout-process-aws'].map((name) =>
      JSON.parse(variablesOf(withGoogle.template, name).GCP_CREDENTIALS as string),
    );

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

  it('addresses the Google target by its topic in QUEUES, next to the AWS queue, and names the project', () => {
    // Prepare
    const queue = resourceOf(withGoogle.template, 'AWS::SQS::Queue', { QueueName: 'fanout-aws' }).logicalId;

    // Act
    const variables = variablesOf(withGoogle.template, resources.functions.ingest.name);

    // Assess
    expect(variables.GOOGLE_CLOUD_PROJECT).toBe(GOOGLE_CONTEXT.gcpProject);
    expect(variables.QUEUES).toEqual({
      'Fn::Join': [
        '',
        ['{"aws":"', { Ref: queue }, `","gcp":"projects/${GOOGLE_CONTEXT.gcpProject}/topics/fanout-gcp"}`],
      ],
    });
  });

  it.each([
    ['ingest', resources.functions.ingest.name, {}],
    [
      'process-aws',
      'fanout-process-aws',
      { TARGET: 'aws', DEAD_LETTER: 'https://sqs.example/dlq', LEASE_MS: '1' },
    ],
  ])(
    'bundles %s so that it loads on Node.js, the Pub/Sub client from its own node_modules',
    async (_, name, extra) => {
      // Prepare
      const code = resourceOf(withGoogle.template, 'AWS::Lambda::Function', { FunctionName: name }).properties
        .Code as { S3Key: string };
      const asset = join(withGoogle.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
      const env = {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        TABLE_NAME: 'tasks',
        BUCKET_NAME: 'data',
        JOB_TTL_SECONDS: '60',
        QUEUES: JSON.stringify({
          aws: 'https://sqs.example/aws',
          gcp: 'projects/acme-fanout/topics/fanout-gcp',
        }),
        GOOGLE_CLOUD_PROJECT: 'acme-fanout',
        ...extra,
      };

      // Act: only the module's own top level runs (clients are made, nothing is sent).
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(join(asset, 'index.mjs'))}); console.log(typeof m.handler)`,
        ],
        { cwd: asset, env },
      );

      // Assess
      expect(stdout.trim()).toBe('function');
    },
  );

  checkEveryTemplate(() => withGoogle);
});
