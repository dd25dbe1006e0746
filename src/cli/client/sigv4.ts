import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { UsageError } from '../../core/errors.ts';
import type { OutgoingRequest, RequestSigner } from './endpoint-client.ts';

/** The service an API Gateway API is signed for. */
export const EXECUTE_API = 'execute-api';

/** `abc123.execute-api.eu-west-1.amazonaws.com`: the region an API's own host name carries. */
const REGION_IN_HOST = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

/** The region to sign for: `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the API's host. */
export const signingRegion = (
  flag: string | undefined,
  endpoint: URL,
  env: NodeJS.ProcessEnv = process.env,
): string => {
  const region =
    flag ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? REGION_IN_HOST.exec(endpoint.hostname)?.[1];
  if (!region) {
    throw new UsageError(
      `signing with sigv4 needs a region, and ${endpoint.host} names none: give --region or set AWS_REGION`,
    );
  }
  return region;
};

/**
 * Signs each request with AWS Signature Version 4 for `execute-api`, as API Gateway checks it for a route
 * with IAM authorization, using the AWS SDK's own signer and credentials from the default chain (the
 * environment, the shared config and credentials files, SSO, the container or instance role).
 */
export const sigV4Signer = (
  region: string,
  credentials: AwsCredentialIdentityProvider = fromNodeProviderChain(),
): RequestSigner => {
  const signer = new SignatureV4({ service: EXECUTE_API, region, credentials, sha256: Sha256 });
  return async (request: OutgoingRequest) => {
    const { url } = request;
    const query: Record<string, string> = Object.fromEntries(url.searchParams);
    try {
      const signed = await signer.sign({
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port && { port: Number(url.port) }),
        path: url.pathname,
        query,
        // The signature covers the body through its hash; the body itself stays out of the signer.
        headers: { ...request.headers, host: url.host, 'x-amz-content-sha256': request.bodySha256 },
      });
      return signed.headers as Record<string, string>;
    } catch (error) {
      throw new UsageError(
        `cannot sign the request with sigv4: no AWS credentials found (${(error as Error).message})`,
        { cause: error },
      );
    }
  };
};
