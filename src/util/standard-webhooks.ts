import { createHmac } from 'node:crypto';

/** The prefix of a Standard Webhooks secret; the rest is the key in base64. */
const SECRET_PREFIX = 'whsec_';

/** The key a `whsec_…` secret holds. Throws for a secret that is not one. */
export const webhookKey = (secret: string): Buffer => {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.byteLength < 16) throw new Error('a webhook secret holds at least 16 bytes in base64');
  return key;
};

/**
 * `webhook-signature` as the Standard Webhooks spec defines it: `v1,` and the base64 HMAC-SHA256, keyed
 * by the secret's bytes, of `id.timestamp.body`, with the timestamp in whole seconds.
 */
export const webhookSignature = (secret: string, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

/** The headers of a signed webhook of `body`; `id` stays the same across retries of one message. */
export const webhookHeaders = (
  secret: string,
  id: string,
  body: string,
  now = Date.now(),
): Record<string, string> => {
  const timestamp = Math.floor(now / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': webhookSignature(secret, id, timestamp, body),
  };
};
