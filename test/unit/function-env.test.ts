import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/config/errors.ts';
import {
  DEFAULT_LEASE_MS,
  type DeployedFunction,
  FUNCTION_READS,
  FunctionEnvironment,
  type FunctionName,
  functionEnvironment,
  parseFunctionEnvironment,
} from '../../src/config/function-env.ts';
import { DEFAULT_JOB_TTL_SECONDS } from '../../src/core/constants.ts';
import { EXTERNAL_ACCOUNT } from '../support/external-account.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/fanout-aws';
const TOPIC = 'projects/acme-fanout/topics/fanout-gcp';
/** Each target's queues, one a lane. */
const LANES = {
  aws: { high: `${QUEUE_URL}-high`, medium: `${QUEUE_URL}-medium`, low: `${QUEUE_URL}-low` },
  gcp: { high: `${TOPIC}-high`, medium: `${TOPIC}-medium`, low: `${TOPIC}-low` },
};

/** What a processor of target aws needs, and nothing more. */
const PROCESSOR = {
  TABLE_NAME: 'fanout-tasks',
  BUCKET_NAME: 'fanout-data',
  QUEUES: JSON.stringify(LANES),
  TARGET: 'aws',
  DEAD_LETTER: `${QUEUE_URL}-dlq`,
};

/** What ingest needs besides what a processor does: where its ingest steps go. */
const INGEST = { INGEST_STEPS: `${QUEUE_URL}-ingest-steps` };

/** The message of the EnvironmentError `parse` throws. */
const refusal = (parse: () => unknown): string => {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return (error as Error).message;
  }
  throw new Error('no EnvironmentError was thrown');
};

describe('parseFunctionEnvironment', () => {
  it('names every variable a processor is missing, in one error', () => {
    // Act
    const message = refusal(() => parseFunctionEnvironment('processor', {}));

    // Assess
    expect(message).toMatch(/^the processor function's environment has 5 bad or missing variables: /);
    for (const name of ['TABLE_NAME', 'BUCKET_NAME', 'QUEUES', 'TARGET', 'DEAD_LETTER']) {
      expect(message).toContain(`${name}: not set`);
    }
  });

  it('names every malformed variable, with what it holds, in one error', () => {
    // Prepare
    const env = {
      ...PROCESSOR,
      QUEUES: '{"aws":',
      DEAD_LETTER: 'nowhere',
      LEASE_MS: 'five minutes',
      JOB_TTL_SECONDS: '0',
      AWS_ENDPOINT_URL: 'localhost',
      AWS_ROLE_ARN: 'fanout-from-gcp',
      AWS_WEB_IDENTITY_AUDIENCE: 'fanout-aws-web-identity',
    };

    // Act
    const message = refusal(() => parseFunctionEnvironment('processor', env));

    // Assess
    expect(message).toContain('has 6 bad or missing variables');
    expect(message).toContain('QUEUES: not JSON');
    expect(message).toContain(
      'DEAD_LETTER: "nowhere" is neither an SQS queue URL nor a Pub/Sub topic projects/P/topics/T',
    );
    expect(message).toContain('LEASE_MS: a whole number of milliseconds, at least 1; got "five minutes"');
    expect(message).toContain('JOB_TTL_SECONDS: a whole number of seconds, at least 1; got "0"');
    expect(message).toContain('AWS_ENDPOINT_URL: a URL');
    expect(message).toContain('AWS_ROLE_ARN: an IAM role ARN');
  });

  it('names the target and lane of a queue address that is neither a queue URL nor a topic', () => {
    // Prepare
    const queues = { ...LANES, gcp: { ...LANES.gcp, low: 'fanout-gcp' } };
    const env = { ...PROCESSOR, QUEUES: JSON.stringify(queues) };

    // Act
    const message = refusal(() => parseFunctionEnvironment('processor', env));

    // Assess
    expect(message).toContain('QUEUES.gcp.low: "fanout-gcp" is neither an SQS queue URL nor a Pub/Sub topic');
  });

  it.each([
    ['an empty object', '{}', 'QUEUES: names no queue'],
    ['a list', JSON.stringify([QUEUE_URL]), 'QUEUES: a JSON object'],
    ['a bad target name', JSON.stringify({ AWS: LANES.aws }), 'QUEUES.AWS: not a target name'],
    [
      'one address for a target, not its lanes',
      JSON.stringify({ aws: QUEUE_URL }),
      'QUEUES.aws: an object of lane to queue address',
    ],
    [
      'a target without its low lane',
      JSON.stringify({ aws: { high: QUEUE_URL, medium: QUEUE_URL } }),
      'QUEUES.aws.low: no queue address for this lane',
    ],
    [
      'a lane that is none',
      JSON.stringify({ aws: { ...LANES.aws, urgent: QUEUE_URL } }),
      'QUEUES.aws: urgent: not a lane (high, medium, low)',
    ],
  ])('refuses QUEUES that is %s', (_, queues, expected) => {
    // Act
    const message = refusal(() =>
      parseFunctionEnvironment('ingest', { ...PROCESSOR, ...INGEST, QUEUES: queues }),
    );

    // Assess
    expect(message).toContain(expected);
  });

  it('reads QUEUES, lane by lane, and DEAD_LETTER as addresses: a topic with the subscription of the same name', () => {
    // Act
    const environment = parseFunctionEnvironment('processor', PROCESSOR);

    // Assess
    expect(environment.QUEUES.aws).toEqual({
      high: { kind: 'sqs', url: `${QUEUE_URL}-high` },
      medium: { kind: 'sqs', url: `${QUEUE_URL}-medium` },
      low: { kind: 'sqs', url: `${QUEUE_URL}-low` },
    });
    expect(environment.QUEUES.gcp?.high).toEqual({
      kind: 'pubsub',
      topic: `${TOPIC}-high`,
      subscription: 'projects/acme-fanout/subscriptions/fanout-gcp-high',
    });
    expect(environment.DEAD_LETTER).toEqual({ kind: 'sqs', url: `${QUEUE_URL}-dlq` });
  });

  it('gives the job TTL and the lease their defaults, and leaves the optional variables out', () => {
    // Act
    const environment = parseFunctionEnvironment('processor', PROCESSOR);

    // Assess
    expect(environment.JOB_TTL_SECONDS).toBe(DEFAULT_JOB_TTL_SECONDS);
    expect(environment.LEASE_MS).toBe(DEFAULT_LEASE_MS);
    expect(Object.keys(environment).sort()).toEqual(
      ['BUCKET_NAME', 'DEAD_LETTER', 'JOB_TTL_SECONDS', 'LEASE_MS', 'QUEUES', 'TABLE_NAME', 'TARGET'].sort(),
    );
  });

  it('takes an empty variable for an unset one', () => {
    // Prepare
    const env = { ...PROCESSOR, LEASE_MS: '', TABLE_NAME: '' };

    // Act
    const message = refusal(() => parseFunctionEnvironment('processor', env));

    // Assess
    expect(message).toBe(
      "the processor function's environment has 1 bad or missing variable: TABLE_NAME: not set",
    );
  });

  it('refuses a TARGET that is not in QUEUES, since a processor sends retries to its own target too', () => {
    // Act
    const message = refusal(() => parseFunctionEnvironment('processor', { ...PROCESSOR, TARGET: 'azure' }));

    // Assess
    expect(message).toContain('TARGET: azure is not one of the targets in QUEUES (aws, gcp)');
  });

  it('refuses default targets in FANOUT_TARGETS that QUEUES does not have', () => {
    // Prepare
    const env = { ...PROCESSOR, ...INGEST, FANOUT_TARGETS: 'aws, azure' };

    // Act
    const message = refusal(() => parseFunctionEnvironment('ingest', env));

    // Assess
    expect(message).toContain('FANOUT_TARGETS: azure not among the targets in QUEUES (aws, gcp)');
  });

  it.each([
    [
      'AWS_ROLE_ARN',
      { AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/fanout-from-gcp' },
      'AWS_WEB_IDENTITY_AUDIENCE',
    ],
    ['AWS_WEB_IDENTITY_AUDIENCE', { AWS_WEB_IDENTITY_AUDIENCE: 'fanout-aws-web-identity' }, 'AWS_ROLE_ARN'],
  ])('refuses %s without its partner, naming both', (_, federation, missing) => {
    // Act
    const message = refusal(() => parseFunctionEnvironment('processor', { ...PROCESSOR, ...federation }));

    // Assess
    expect(message).toContain(
      `${missing}: set both AWS_ROLE_ARN and AWS_WEB_IDENTITY_AUDIENCE for web identity federation, or neither`,
    );
  });

  it('reads GCP_CREDENTIALS as an AWS-sourced external account configuration', () => {
    // Act
    const environment = parseFunctionEnvironment('ingest', {
      ...PROCESSOR,
      ...INGEST,
      GCP_CREDENTIALS: JSON.stringify(EXTERNAL_ACCOUNT),
    });

    // Assess
    expect(environment.GCP_CREDENTIALS).toEqual(EXTERNAL_ACCOUNT);
  });

  it.each([
    [
      'a service account key',
      { type: 'service_account', private_key: '-----BEGIN PRIVATE KEY-----', client_email: 'x@p.iam' },
      'GCP_CREDENTIALS.type: ',
    ],
    [
      'a configuration that sources its token from anywhere but AWS',
      { ...EXTERNAL_ACCOUNT, credential_source: { file: '/tmp/token' } },
      'GCP_CREDENTIALS.credential_source.environment_id: ',
    ],
  ])('refuses in GCP_CREDENTIALS %s, naming what is wrong', (_, credentials, expected) => {
    // Prepare
    const env = { ...PROCESSOR, ...INGEST, GCP_CREDENTIALS: JSON.stringify(credentials) };

    // Act
    const message = refusal(() => parseFunctionEnvironment('ingest', env));

    // Assess
    expect(message).toContain(expected);
  });

  it('asks the stats function for the table, the bucket and the job TTL alone', () => {
    // Act
    const environment = parseFunctionEnvironment('stats', {
      TABLE_NAME: 'fanout-tasks',
      BUCKET_NAME: 'fanout-data',
      JOB_TTL_SECONDS: '60',
    });

    // Assess
    expect(environment).toEqual({
      TABLE_NAME: 'fanout-tasks',
      BUCKET_NAME: 'fanout-data',
      JOB_TTL_SECONDS: 60,
    });
  });

  it('has every variable of the schema read by some function', () => {
    // Act
    const read = new Set(Object.values(FUNCTION_READS).flatMap((reads) => Object.keys(reads)));

    // Assess
    expect([...read].sort()).toEqual(Object.keys(FunctionEnvironment.shape).sort());
  });
});

describe('functionEnvironment', () => {
  const onAws = {
    tableName: 'fanout-tasks',
    bucketName: 'fanout-data',
    queues: LANES,
    jobTtlSeconds: 3600,
    ingestSteps: INGEST.INGEST_STEPS,
    googleProject: 'acme-fanout',
    gcpCredentials: JSON.stringify(EXTERNAL_ACCOUNT),
  };
  const awsProcessor = {
    name: 'processor',
    target: 'aws',
    deadLetter: `${QUEUE_URL}-dlq`,
    leaseMs: 60_000,
  } as const;

  it('gives ingest the resources, the job TTL, every target as a job’s default and the Google credentials', () => {
    // Act
    const environment = functionEnvironment(onAws, { name: 'ingest' });

    // Assess
    expect(environment).toEqual({
      TABLE_NAME: 'fanout-tasks',
      BUCKET_NAME: 'fanout-data',
      QUEUES: JSON.stringify(LANES),
      JOB_TTL_SECONDS: '3600',
      FANOUT_TARGETS: 'aws,gcp',
      INGEST_STEPS: INGEST.INGEST_STEPS,
      GOOGLE_CLOUD_PROJECT: 'acme-fanout',
      GCP_CREDENTIALS: JSON.stringify(EXTERNAL_ACCOUNT),
    });
  });

  it('gives the ingest step what ingest has, but the jobs’ default targets', () => {
    // Act
    const environment = functionEnvironment(onAws, { name: 'ingest-step' });

    // Assess
    expect(environment).toEqual({
      TABLE_NAME: 'fanout-tasks',
      BUCKET_NAME: 'fanout-data',
      QUEUES: JSON.stringify(LANES),
      JOB_TTL_SECONDS: '3600',
      INGEST_STEPS: INGEST.INGEST_STEPS,
      GOOGLE_CLOUD_PROJECT: 'acme-fanout',
      GCP_CREDENTIALS: JSON.stringify(EXTERNAL_ACCOUNT),
    });
  });

  it('gives a processor its target, dead-letter queue and lease on top', () => {
    // Act
    const environment = functionEnvironment(onAws, awsProcessor);

    // Assess
    expect(environment).toMatchObject({ TARGET: 'aws', DEAD_LETTER: `${QUEUE_URL}-dlq`, LEASE_MS: '60000' });
    expect(environment).not.toHaveProperty('FANOUT_TARGETS');
  });

  it('gives a processor on Google Cloud the AWS role it assumes, and no Google credentials', () => {
    // Prepare
    const onGoogle = {
      ...onAws,
      gcpCredentials: undefined,
      awsRole: {
        region: 'eu-west-1',
        arn: 'arn:aws:iam::123456789012:role/fanout-from-gcp',
        audience: 'fanout-aws-web-identity',
      },
    };

    // Act
    const environment = functionEnvironment(onGoogle, {
      ...awsProcessor,
      target: 'gcp',
      deadLetter: `${TOPIC}-dlq`,
    });

    // Assess
    expect(environment).toMatchObject({
      AWS_REGION: 'eu-west-1',
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/fanout-from-gcp',
      AWS_WEB_IDENTITY_AUDIENCE: 'fanout-aws-web-identity',
    });
    expect(environment).not.toHaveProperty('GCP_CREDENTIALS');
  });

  it('gives the stats function the table, the bucket, the job TTL, and what it needs to publish job ends', () => {
    // Act
    const environment = functionEnvironment(onAws, { name: 'stats' });

    // Assess
    expect(environment).toEqual({
      TABLE_NAME: 'fanout-tasks',
      BUCKET_NAME: 'fanout-data',
      JOB_TTL_SECONDS: '3600',
      GOOGLE_CLOUD_PROJECT: 'acme-fanout',
      GCP_CREDENTIALS: expect.any(String),
    });
  });

  it.each<[FunctionName, DeployedFunction]>([
    ['ingest', { name: 'ingest' }],
    ['ingest-step', { name: 'ingest-step' }],
    ['processor', awsProcessor],
    ['stats', { name: 'stats' }],
  ])('builds an environment that the %s function parses, holding only what it reads', (name, fn) => {
    // Act
    const built = functionEnvironment(onAws, fn);

    // Assess
    expect(() => parseFunctionEnvironment(name, built)).not.toThrow();
    expect(Object.keys(built).every((variable) => variable in FUNCTION_READS[name])).toBe(true);
  });
});
