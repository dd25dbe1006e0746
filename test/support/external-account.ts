/** AWS-sourced Workload Identity Federation, as Google's `gcloud iam workload-identity-pools create-cred-config` writes it. */
export const EXTERNAL_ACCOUNT = {
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
} as const;
