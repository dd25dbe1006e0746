import { createHash, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The credentials and region requests must be signed with: emulator mode's own, the emulator's test ones. */
export interface SigV4Identity {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** How far a request's `x-amz-date` may lie from now, as AWS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const SERVICE = 'execute-api';
const CONTENT_SHA256 = 'x-amz-content-sha256';
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;

/** `20260101T000000Z` as a date, or undefined. */
const amzDate = (text: string | undefined): Date | undefined => {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
};

/**
 * Checks a request's AWS Signature Version 4 as API Gateway does for a route with IAM authorization:
 * recomputes it with the SDK's signer over the method, path, query, the headers it names and the SHA-256
 * of the body, for `identity`, and compares. Undefined when the signature holds; otherwise why not, in
 * words for a 403.
 */
export const checkSigV4 = async (
  event: APIGatewayProxyEventV2,
  identity: SigV4Identity,
  now: Date = new Date(),
): Promise<string | undefined> => {
  const header = event.headers.authorization;
  if (header === undefined) return 'the request is not signed: it has no Authorization header';
  const parts = AUTHORIZATION.exec(header);
  if (!parts) return 'the Authorization header is not an AWS4-HMAC-SHA256 signature';
  const [, accessKeyId, day, region, service, signedHeaders = '', signature = ''] = parts;
  if (accessKeyId !== identity.accessKeyId) return `the access key ${accessKeyId} is not known here`;
  if (region !== identity.region || service !== SERVICE)
    return `the signature is for ${region}/${service}, not ${identity.region}/${SERVICE}`;
  const date = amzDate(event.headers['x-amz-date']);
  if (date === undefined) return 'the request has no valid X-Amz-Date header';
  if (Math.abs(now.getTime() - date.getTime()) > MAX_SKEW_MS)
    return `the signature's date ${event.headers['x-amz-date']} is more than 15 minutes from now`;
  if (!event.headers['x-amz-date']?.startsWith(day as string))
    return "the credential scope's date differs from X-Amz-Date";
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return 'the signed headers must include host';
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, 'base64');
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = event.headers[name];
    if (value === undefined) return `the signed header ${name} is missing from the request`;
    headers[name] = value;
  }
  // The body as it came, whatever hash the client claims: a body changed on the way fails the check.
  headers[CONTENT_SHA256] = createHash('sha256').update(body).digest('hex');
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(event.rawQueryString)) {
    const held = query[name];
    query[name] = held === undefined ? value : [...(Array.isArray(held) ? held : [held]), value];
  }
  const signer = new SignatureV4({
    service: SERVICE,
    region: identity.region,
    credentials: { accessKeyId: identity.accessKeyId, secretAccessKey: identity.secretAccessKey },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: event.requestContext.http.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: event.rawPath,
      query,
      headers,
    },
    {
      signingDate: date,
      ...(!names.includes(CONTENT_SHA256) && { unsignableHeaders: new Set([CONTENT_SHA256]) }),
    },
  );
  const expected = AUTHORIZATION.exec(String(signed.headers.authorization))?.[6] ?? '';
  const same =
    expected.length === signature.length &&
    timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature, 'hex'));
  return same
    ? undefined
    : 'the request signature does not match the one computed for it: check the credentials, the region and the clock';
};
