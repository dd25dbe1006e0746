import { Duration } from 'aws-cdk-lib';
import { Role, WebIdentityPrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { FederationDefinition } from '../src/deploy/resources.ts';
import type { GoogleConfig } from './config.ts';

/** Google's issuer, which IAM trusts without an OIDC provider of the account's own. */
export const GOOGLE_ISSUER = 'accounts.google.com';

/**
 * The role the Google function assumes with the ID token Google mints for its service account
 * (`sts:AssumeRoleWithWebIdentity`). For such a token IAM's `accounts.google.com:aud` key is its `azp`
 * claim and `:sub` its `sub` claim (both the service account's unique id) and `:oaud` its `aud` claim
 * (the audience the token was minted for), so only that one account, asking for this audience, gets in.
 * What the role may do is granted where the resources are made.
 */
export class GoogleFunctionRole extends Construct {
  readonly role: Role;

  constructor(
    scope: Construct,
    id: string,
    props: { federation: FederationDefinition; google: GoogleConfig },
  ) {
    super(scope, id);
    const { federation, google } = props;
    this.role = new Role(this, 'Role', {
      roleName: federation.roleName,
      description: `Assumed by the Google functions of project ${google.project} to reach the table, bucket and queues`,
      maxSessionDuration: Duration.hours(1),
      assumedBy: new WebIdentityPrincipal(GOOGLE_ISSUER, {
        StringEquals: {
          [`${GOOGLE_ISSUER}:aud`]: google.processorUniqueId,
          [`${GOOGLE_ISSUER}:sub`]: google.processorUniqueId,
          [`${GOOGLE_ISSUER}:oaud`]: federation.audience,
        },
      }),
    });
  }
}

/** Where an AWS-sourced credential proves the caller's identity: an STS request signed with its credentials. */
const REGIONAL_CRED_VERIFICATION_URL =
  'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15';

/**
 * The Workload Identity Federation credential configuration (`GCP_CREDENTIALS`) with which a Lambda
 * function trades its own AWS identity for a token of the Google publisher service account: no key file.
 * The credential source names no metadata URLs: on Lambda the client reads the region and the role's
 * credentials from the function's environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, …), which comes first.
 */
export const externalAccountCredentials = (google: GoogleConfig): string => {
  const { pool, provider } = google.resources.workloadIdentity;
  const publisher = `${google.resources.serviceAccounts.publisher}@${google.project}.iam.gserviceaccount.com`;
  return JSON.stringify({
    type: 'external_account',
    audience: `//iam.googleapis.com/projects/${google.projectNumber}/locations/global/workloadIdentityPools/${pool}/providers/${provider}`,
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    token_url: 'https://sts.googleapis.com/v1/token',
    service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${publisher}:generateAccessToken`,
    credential_source: {
      environment_id: 'aws1',
      regional_cred_verification_url: REGIONAL_CRED_VERIFICATION_URL,
    },
  });
};
