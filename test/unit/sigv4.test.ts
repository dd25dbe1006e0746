import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { signingRegion, sigV4Signer } from '../../src/cli/client/sigv4.ts';
import { checkSigV4 } from '../../src/local/sigv4-check.ts';

const IDENTITY = { accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1' };
const credentials = async () => ({ accessKeyId: 'test', secretAccessKey: 'test' });

/** Signs a request as the CLI does and gives it as API Gateway hands it to a function. */
const signedEvent = async (method: string, url: URL, body = ''): Promise<APIGatewayProxyEventV2> => {
  const headers = await sigV4Signer(
    'us-east-1',
    credentials,
  )({
    method,
    url,
    headers: { 'content-type': 'text/plain' },
    bodySha256: createHash('sha256').update(body).digest('hex'),
  });
  return {
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: { http: { method } },
    ...(body && { body: Buffer.from(body).toString('base64'), isBase64Encoded: true }),
  } as unknown as APIGatewayProxyEventV2;
};

describe('SigV4: the CLI signs, emulator mode checks', () => {
  it('accepts what the signer signed: a stage in the path, an encoded id, a spec in the query', async () => {
    // Prepare
    const url = new URL('http://127.0.0.1:3000/prod/jobs/a%20b/result?pipeline=validate,transform:uppercase');
    const event = await signedEvent('GET', url);

    // Act
    const refusal = await checkSigV4(event, IDENTITY);

    // Assess
    expect(refusal).toBeUndefined();
  });

  it('refuses a changed query, a changed body, another region and an old signature', async () => {
    // Prepare
    const url = new URL('http://127.0.0.1:3000/jobs?chunkSize=1024');
    const event = await signedEvent('POST', url, 'signed body\n');
    const later = new Date(Date.now() + 16 * 60 * 1000);

    // Act
    const query = await checkSigV4({ ...event, rawQueryString: 'chunkSize=2048' }, IDENTITY);
    const body = await checkSigV4({ ...event, body: Buffer.from('other\n').toString('base64') }, IDENTITY);
    const region = await checkSigV4(event, { ...IDENTITY, region: 'eu-west-1' });
    const old = await checkSigV4(event, IDENTITY, later);

    // Assess
    expect(query).toMatch(/does not match/);
    expect(body).toMatch(/does not match/);
    expect(region).toMatch(/for us-east-1\/execute-api, not eu-west-1/);
    expect(old).toMatch(/more than 15 minutes/);
  });
});

describe('signingRegion', () => {
  it('takes --region, then AWS_REGION, then AWS_DEFAULT_REGION, then the API host', () => {
    // Prepare
    const api = new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/prod');
    const local = new URL('http://127.0.0.1:3000');

    // Act
    const regions = [
      signingRegion('ap-south-1', api, { AWS_REGION: 'us-east-2' }),
      signingRegion(undefined, api, { AWS_REGION: 'us-east-2', AWS_DEFAULT_REGION: 'us-west-1' }),
      signingRegion(undefined, api, { AWS_DEFAULT_REGION: 'us-west-1' }),
      signingRegion(undefined, api, {}),
    ];

    // Assess
    expect(regions).toEqual(['ap-south-1', 'us-east-2', 'us-west-1', 'eu-west-1']);
    expect(() => signingRegion(undefined, local, {})).toThrow(/give --region or set AWS_REGION/);
  });
});
