import { fromWebToken } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { AwsClient, GoogleAuth } from 'google-auth-library';
import { EnvironmentError } from '../config/errors.ts';
import type { EnvironmentOf } from '../config/function-env.ts';

/** What ingest and the processors read: the cloud runtime's variables. */
type RuntimeEnvironment = EnvironmentOf<'ingest'>;

const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';

/**
 * Google credentials for a function on AWS: `GCP_CREDENTIALS` holds a Workload Identity Federation
 * configuration, which trades the function's own AWS identity for a Google token. No key file exists.
 * Undefined when it is unset: the Google client's own detection (or an emulator, which needs none).
 */
export const googleAuthFromEnv = (
  environment: Pick<RuntimeEnvironment, 'GCP_CREDENTIALS'>,
): GoogleAuth | undefined =>
  environment.GCP_CREDENTIALS === undefined
    ? undefined
    : new GoogleAuth({ authClient: new AwsClient(environment.GCP_CREDENTIALS), scopes: [PUBSUB_SCOPE] });

/** Fetches a Google-signed identity token for an audience: the metadata server's, in a Cloud Function. */
export type IdentityTokenSource = (audience: string) => Promise<string>;

/** The metadata server's identity token; `GCE_METADATA_HOST` points it elsewhere, as Google's clients allow. */
export const metadataIdentityToken =
  (environment: Pick<RuntimeEnvironment, 'GCE_METADATA_HOST'>): IdentityTokenSource =>
  async (audience) => {
    const host = environment.GCE_METADATA_HOST ?? 'metadata.google.internal';
    const url = `http://${host}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${encodeURIComponent(audience)}&format=full`;
    const response = await fetch(url, { headers: { 'Metadata-Flavor': 'Google' } });
    if (!response.ok)
      throw new EnvironmentError(`the metadata server refused an identity token: ${response.status}`);
    return response.text();
  };

/**
 * AWS credentials for a function on Google Cloud: with `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_AUDIENCE`
 * set, a Google identity token for that audience is exchanged for the role's temporary credentials
 * (web identity federation; a fresh token at each refresh). Undefined when they are unset: the SDK's
 * default chain, which is what tests against the emulators use. `tokens` is pluggable for the same reason.
 */
export const awsCredentialsFromEnv = (
  environment: Pick<
    RuntimeEnvironment,
    'AWS_ROLE_ARN' | 'AWS_WEB_IDENTITY_AUDIENCE' | 'AWS_REGION' | 'AWS_ENDPOINT_URL' | 'GCE_METADATA_HOST'
  >,
  tokens: IdentityTokenSource = metadataIdentityToken(environment),
): AwsCredentialIdentityProvider | undefined => {
  // The environment's schema has checked that both are set or neither.
  const { AWS_ROLE_ARN: roleArn, AWS_WEB_IDENTITY_AUDIENCE: audience } = environment;
  if (roleArn === undefined || audience === undefined) return undefined;
  // STS is reached the way the function's other AWS clients are: its region, and an emulator's endpoint.
  const clientConfig = {
    ...(environment.AWS_REGION && { region: environment.AWS_REGION }),
    ...(environment.AWS_ENDPOINT_URL && { endpoint: environment.AWS_ENDPOINT_URL }),
  };
  return async () =>
    fromWebToken({
      roleArn,
      roleSessionName: 'fanout-gcp',
      webIdentityToken: await tokens(audience),
      clientConfig,
    })();
};
