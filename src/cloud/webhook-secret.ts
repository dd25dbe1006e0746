import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { EnvironmentError } from '../config/errors.ts';

/** How long a container keeps the secret it read before it reads it again: a rotation takes this long. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * The environment a function's settings are loaded from, with `FANOUT_NOTIFY_WEBHOOK_SECRET` read from
 * Secrets Manager when `NOTIFY_WEBHOOK_SECRET_ID` names a secret: the deployed stack keeps the webhook
 * secret there, not in the function's configuration. Throws `EnvironmentError` for a secret that is not
 * a non-empty string.
 */
export const withWebhookSecret = async (env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> => {
  const id = env.NOTIFY_WEBHOOK_SECRET_ID;
  if (id === undefined || id === '') return env;
  const secret = await getSecret(id, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof secret !== 'string' || secret === '') {
    throw new EnvironmentError(`secret ${id} (NOTIFY_WEBHOOK_SECRET_ID) holds no webhook secret string`);
  }
  return { ...env, FANOUT_NOTIFY_WEBHOOK_SECRET: secret };
};
