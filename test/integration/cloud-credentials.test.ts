import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCredentialsFromEnv, googleAuthFromEnv } from '../../src/cloud/cloud-credentials.ts';
import { parseFunctionEnvironment } from '../../src/config/function-env.ts';
import { EXTERNAL_ACCOUNT } from '../support/external-account.ts';
import { everyLane } from '../support/lanes.ts';
import { type Moto, startMoto } from '../support/moto.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/fanout-gcp-processor';
const AUDIENCE = 'sts.amazonaws.com/fanout';

let moto: Moto;
let metadata: Server;
const tokenRequests: IncomingMessage[] = [];

beforeAll(async () => {
  moto = await startMoto();
  // A stand-in for the Cloud Function's metadata server: the one part with no emulator.
  metadata = createServer((req, res) => {
    tokenRequests.push(req);
    res.end(`google-id-token-${tokenRequests.length}`);
  });
  await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  metadata?.close();
  await moto?.stop();
});

describe('awsCredentialsFromEnv: web identity federation from a Google identity token', () => {
  it("trades the metadata server's identity token for the role's temporary credentials on the AWS emulator", async () => {
    // Prepare
    const { port } = metadata.address() as AddressInfo;
    const env = {
      AWS_ROLE_ARN: ROLE_ARN,
      AWS_WEB_IDENTITY_AUDIENCE: AUDIENCE,
      GCE_METADATA_HOST: `127.0.0.1:${port}`,
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: 'us-east-1',
    };

    // Act
    const provider = awsCredentialsFromEnv(env);
    const credentials = await provider?.();

    // Assess
    expect(credentials?.accessKeyId).toMatch(/^ASIA/);
    expect(credentials?.sessionToken).toBeTruthy();
    expect(credentials?.expiration?.getTime()).toBeGreaterThan(Date.now());
    const [request] = tokenRequests;
    expect(request?.headers['metadata-flavor']).toBe('Google');
    expect(new URL(request?.url ?? '', 'http://x').searchParams.get('audience')).toBe(AUDIENCE);
  });

  it('leaves the default chain in place when neither variable is set', () => {
    // Act
    const provider = awsCredentialsFromEnv({});

    // Assess
    expect(provider).toBeUndefined();
  });
});

describe('googleAuthFromEnv: Workload Identity Federation from the AWS identity', () => {
  it('makes Google credentials from the AWS-sourced external account configuration in GCP_CREDENTIALS', () => {
    // Prepare
    const environment = parseFunctionEnvironment('ingest', {
      TABLE_NAME: 'fanout-tasks',
      BUCKET_NAME: 'fanout-data',
      QUEUES: JSON.stringify({ gcp: everyLane('projects/p/topics/fanout-gcp') }),
      INGEST_STEPS: 'https://sqs.us-east-1.amazonaws.com/123456789012/fanout-ingest-steps',
      GCP_CREDENTIALS: JSON.stringify(EXTERNAL_ACCOUNT),
    });

    // Act
    const auth = googleAuthFromEnv(environment);

    // Assess
    expect(auth).toBeDefined();
  });

  it('leaves the Google client its own detection when GCP_CREDENTIALS is unset', () => {
    // Act
    const auth = googleAuthFromEnv({});

    // Assess
    expect(auth).toBeUndefined();
  });
});
