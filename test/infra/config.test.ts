import { describe, expect, it } from 'vitest';
import { readStackConfig, StackConfigError } from '../../infra/config.ts';
import { GOOGLE_CONTEXT } from './synth.ts';

/** The message of the error `read` throws. */
const failure = (read: () => unknown): string => {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as Error).message;
  }
  throw new Error('no StackConfigError was thrown');
};

describe('readStackConfig', () => {
  it('defaults to the fanout prefix, the AWS target alone, IAM authorization and no Google side', () => {
    // Act
    const config = readStackConfig({});

    // Assess
    expect(config.resources.prefix).toBe('fanout');
    expect(config.resources.queues.map((queue) => queue.target)).toEqual(['aws']);
    expect(config.resources.processor.maxConcurrency).toBe(20);
    expect(config.authorization).toEqual({ kind: 'iam' });
    expect(config.google).toBeUndefined();
  });

  it('reads the strings of `cdk -c key=value`: numbers, and lists separated by commas', () => {
    // Prepare
    const context = {
      prefix: 'acme',
      awsTargets: 'aws, aws-east',
      maxConcurrentTasks: '25',
      logRetentionDays: '90',
    };

    // Act
    const { resources } = readStackConfig(context);

    // Assess
    expect(resources.queues.map((queue) => queue.lanes.medium.name)).toEqual([
      'acme-aws-medium',
      'acme-aws-east-medium',
    ]);
    expect(resources.processor.maxConcurrency).toBe(25);
    expect(resources.observability.logRetentionDays).toBe(90);
  });

  it('splits the processor’s concurrency by priorityShares, from `-c` or from cdk.json', () => {
    // Prepare
    const fromFlag = { maxConcurrentTasks: '10', priorityShares: 'high=50, medium=25, low=25' };
    const fromFile = { maxConcurrentTasks: 10, priorityShares: { high: 50, medium: 25, low: 25 } };

    // Act
    const splits = [fromFlag, fromFile].map((context) =>
      Object.values(readStackConfig(context).resources.queues[0]?.lanes ?? {}).map(
        (lane) => lane.maxConcurrency,
      ),
    );

    // Assess
    expect(splits).toEqual([
      [5, 3, 2],
      [5, 3, 2],
    ]);
  });

  it('ignores feature flags and the CDK’s own keys', () => {
    // Prepare
    const context = { '@aws-cdk/core:target-partitions': ['aws'], 'aws:cdk:bundling-stacks': [] };

    // Act
    const config = readStackConfig(context);

    // Assess
    expect(config.resources.prefix).toBe('fanout');
  });

  it('configures the Google side from its project, project number and service account id', () => {
    // Prepare
    const context = { ...GOOGLE_CONTEXT, gcpTargets: 'gcp,gcp-eu' };

    // Act
    const { google } = readStackConfig(context);

    // Assess
    expect(google).toMatchObject({
      project: 'acme-fanout',
      projectNumber: '123456789012',
      processorUniqueId: '109876543210987654321',
    });
    expect(google?.resources.targets.map((target) => target.lanes.high.topic)).toEqual([
      'fanout-gcp-high',
      'fanout-gcp-eu-high',
    ]);
  });

  it('takes a JWT authorizer with its issuer and audiences', () => {
    // Act
    const { authorization } = readStackConfig({
      authorization: 'jwt',
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'a,b',
    });

    // Assess
    expect(authorization).toEqual({
      kind: 'jwt',
      issuer: 'https://issuer.example.com/',
      audience: ['a', 'b'],
    });
  });

  it('collects every misconfiguration and names each bad key in one error', () => {
    // Prepare
    const context = {
      prefx: 'typo',
      prefix: 'Fanout',
      maxConcurrentTasks: 'many',
      authorization: 'jwt',
      jwtIssuer: 'http://insecure.example.com/',
      gcpProject: 'acme-fanout',
      gcpServiceAccountUniqueId: '42',
    };

    // Act
    const message = failure(() => readStackConfig(context));

    // Assess
    const lines = message.split('\n').slice(1);
    expect(lines.map((line) => line.match(/^ {2}- (.*?):/)?.[1] ?? line)).toEqual([
      'prefx',
      'maxConcurrentTasks',
      'jwtIssuer',
      'gcpServiceAccountUniqueId',
      'invalid resource options',
      'jwtAudience',
      'gcpProjectNumber',
      'invalid Google Cloud resource options',
    ]);
    expect(message).toMatch(/prefix: a prefix is lowercase/);
  });

  it.each([
    [{ gcpProjectNumber: '1' }, 'gcpProjectNumber: only used with gcpProject'],
    [{ jwtIssuer: 'https://issuer.example.com/' }, 'jwtIssuer: only used with authorization=jwt'],
    [{ ...GOOGLE_CONTEXT, gcpTargets: 'aws' }, 'gcpTargets: aws also named as AWS targets'],
    [{ awsTargets: 'aws', prefix: 'p'.repeat(40), maxConcurrentTasks: 1 }, 'maxConcurrentTasks'],
    [
      { priorityShares: 'high=60,medium=30,low=20' },
      'priorityShares: the shares of high, medium and low must sum to 100',
    ],
    [{ priorityShares: 'high=60,medium=30,urgent=10' }, 'priorityShares'],
    [
      { maxConcurrentTasks: '10' },
      "laneShares.low: the low lane gets 1 of maxConcurrentTasks 10; SQS's least is 2: raise maxConcurrentTasks to 20 or the low share",
    ],
  ])('refuses %j', (context, expected) => {
    // Act
    const message = failure(() => readStackConfig(context));

    // Assess
    expect(message).toContain(expected);
  });
});
