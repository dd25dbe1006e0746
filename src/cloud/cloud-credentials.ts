import { fromWebToken } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { AwsClient, GoogleAuth } from 'google-auth-library';
import { z } from 'zod';
import { EnvironmentError } from '../config/errors.ts';

/**
 * The only external-account configuration accepted: AWS-sourced Workload Identity Federation. Checked
 * before use, because a credential configuration can make the client fetch from any URL it names.
 */
const AwsExternalAccount = z.looseObject({
  type: z.literal('external_account'),
  audience: z.string().startsWith('//iam.googleapis.com/'),
  subject_token_type: z.literal('urn:ietf:params:aws:token-type:aws4_request'),
  token_url: z.url(),
  credential_source: z.looseObject({
    environment_id: z.string().startsWith('aws'),
    regional_cred_verification_url: z.string().min(1),
  }),
  service_account_impersonation_url: z.url().optional(),
});

const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';

/**
 * Google credentials for a function on AWS: `GCP_CREDENTIALS` holds a Workload Identity Federation
 * configuration, which trades the function's own AWS identity for a Google token. No key file exists.
 * Undefined when it is unset: the Google client's own detection (or an emulator, which needs none).
 */
export const googleAuthFromEnv = (env: NodeJS.ProcessEnv): GoogleAuth | undefined => {
  const text = env.GCP_CREDENTIALS;
  if (text === undefined || text === '') return undefined;
  let parsed: z.ZodSafeParseResult<z.infer<typeof AwsExternalAccount>>;
  try {
    parsed = AwsExternalAccount.safeParse(JSON.parse(text));
  } catch (cause) {
    throw new EnvironmentError('environment variable GCP_CREDENTIALS is not JSON', { cause });
  }
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`);
    throw new EnvironmentError(
      `environment variable GCP_CREDENTIALS is not an AWS-sourced external account configuration: ${issues.join('; ')}`,
    );
  }
  return new GoogleAuth({ authClient: new AwsClient(parsed.data), scopes: [PUBSUB_SCOPE] });
};

/** Fetches a Google-signed identity token for an audience: the metadata server's, in a Cloud Function. */
export type IdentityTokenSource = (audience: string) => Promise<string>;

/** The metadata server's identity token; `GCE_METADATA_HOST` points it elsewhere, as Google's clients allow. */
export const metadataIdentityToken =
  (env: NodeJS.ProcessEnv): IdentityTokenSource =>
  async (audience) => {
    const host = env.GCE_METADATA_HOST || 'metadata.google.internal';
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
  env: NodeJS.ProcessEnv,
  tokens: IdentityTokenSource = metadataIdentityToken(env),
): AwsCredentialIdentityProvider | undefined => {
  const roleArn = env.AWS_ROLE_ARN;
  const audience = env.AWS_WEB_IDENTITY_AUDIENCE;
  if (!roleArn && !audience) return undefined;
  if (!roleArn || !audience) {
    throw new EnvironmentError(
      'set both AWS_ROLE_ARN and AWS_WEB_IDENTITY_AUDIENCE for web identity federation, or neither',
    );
  }
  // STS is reached the way the function's other AWS clients are: its region, and an emulator's endpoint.
  const clientConfig = {
    ...(env.AWS_REGION && { region: env.AWS_REGION }),
    ...(env.AWS_ENDPOINT_URL && { endpoint: env.AWS_ENDPOINT_URL }),
  };
  return async () =>
    fromWebToken({
      roleArn,
      roleSessionName: 'fanout-gcp',
      webIdentityToken: await tokens(audience),
      clientConfig,
    })();
};
