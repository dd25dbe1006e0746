import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withWebhookSecret } from '../../src/cloud/webhook-secret.ts';
import { EnvironmentError } from '../../src/config/errors.ts';
import { awsEmulatorEnvironment } from '../../src/local/emulator-state.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

let moto: Moto;
let secrets: SecretsManagerClient;
const saved = { ...process.env };

beforeAll(async () => {
  moto = await startMoto();
  // Powertools' Secrets Manager client is made on first use, from the process's environment.
  Object.assign(process.env, awsEmulatorEnvironment(moto.endpoint));
  secrets = new SecretsManagerClient(awsClientConfig(moto.endpoint));
}, 60_000);

afterAll(async () => {
  process.env = saved;
  await moto?.stop();
});

const created = async (name: string, value: string): Promise<string> =>
  (await secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }))).ARN as string;

describe('withWebhookSecret on moto', () => {
  it('reads the secret NOTIFY_WEBHOOK_SECRET_ID names into FANOUT_NOTIFY_WEBHOOK_SECRET', async () => {
    // Prepare
    const arn = await created('fanout-webhook', SECRET);

    // Act
    const env = await withWebhookSecret({ NOTIFY_WEBHOOK_SECRET_ID: arn, TABLE_NAME: 't' });

    // Assess
    expect(env).toEqual({
      NOTIFY_WEBHOOK_SECRET_ID: arn,
      TABLE_NAME: 't',
      FANOUT_NOTIFY_WEBHOOK_SECRET: SECRET,
    });
  });

  it('leaves an environment that names no secret as it is', async () => {
    // Prepare
    const env = { FANOUT_NOTIFY_WEBHOOK_SECRET: SECRET };

    // Act
    const read = await withWebhookSecret(env);

    // Assess
    expect(read).toBe(env);
  });

  it('refuses a secret that holds no string, naming it', async () => {
    // Prepare
    const { ARN: arn } = await secrets.send(
      new CreateSecretCommand({ Name: 'fanout-webhook-binary', SecretBinary: new Uint8Array([1, 2, 3]) }),
    );

    // Act
    const reading = withWebhookSecret({ NOTIFY_WEBHOOK_SECRET_ID: arn as string });

    // Assess
    await expect(reading).rejects.toThrow(EnvironmentError);
    await expect(reading).rejects.toThrow(
      `secret ${arn} (NOTIFY_WEBHOOK_SECRET_ID) holds no webhook secret string`,
    );
  });
});
