import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCredentialsFromEnv, googleAuthFromEnv } from '../../src/cloud/cloud-credentials.ts';
import { EnvironmentError } from '../../src/config/errors.ts';
import { type Moto, startMoto } from '../support/moto.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/fanout-gcp-processor';
const AUDIENCE = 'sts.amazonaws.com/fanout';

/** AWS-sourced Workload Identity Federation, as Google's `gcloud iam workload-identity-pools create-cred-config` writes it. */
const externalAccount = {
  type: 'external_account',
  audience: '//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/fanout/providers/aws',
  subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
  token_url: 'https://sts.googleapis.com/v1/token',
  credential_source: {
    environment_id: 'aws1',
    regional_cred_verification_url:
      'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
  },
  service_account_impersonation_url:
    'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/fanout-publisher@p.iam.gserviceaccount.com:generateAccessToken',
};

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

  it('refuses one of the two variables without the other, naming both', () => {
    // Act
    const make = () => awsCredentialsFromEnv({ AWS_ROLE_ARN: ROLE_ARN });

    // Assess
    expect(make).toThrow(EnvironmentError);
    expect(make).toThrow(/AWS_ROLE_ARN and AWS_WEB_IDENTITY_AUDIENCE/);
  });
});

describe('googleAuthFromEnv: Workload Identity Federation from the AWS identity', () => {
  it('accepts an AWS-sourced external account configuration', () => {
    // Act
    const auth = googleAuthFromEnv({ GCP_CREDENTIALS: JSON.stringify(externalAccount) });

    // Assess
    expect(auth).toBeDefined();
  });

  it('refuses a service account key, naming what is wrong', () => {
    // Prepare
    const key = {
      type: 'service_account',
      private_key: '-----BEGIN PRIVATE KEY-----',
      client_email: 'x@p.iam',
    };

    // Act
    const make = () => googleAuthFromEnv({ GCP_CREDENTIALS: JSON.stringify(key) });

    // Assess
    expect(make).toThrow(EnvironmentError);
    expect(make).toThrow(/GCP_CREDENTIALS .*type/);
  });

  it('refuses a configuration that sources its token from anywhere but AWS', () => {
    // Prepare
    const fromFile = { ...externalAccount, credential_source: { file: '/tmp/token' } };

    // Act
    const make = () => googleAuthFromEnv({ GCP_CREDENTIALS: JSON.stringify(fromFile) });

    // Assess
    expect(make).toThrow(/credential_source.environment_id/);
  });

  it('refuses text that is not JSON', () => {
    // Act
    const make = () => googleAuthFromEnv({ GCP_CREDENTIALS: '{not json' });

    // Assess
    expect(make).toThrow(/GCP_CREDENTIALS is not JSON/);
  });
});
