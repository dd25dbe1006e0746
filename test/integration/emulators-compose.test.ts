import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const COMPOSE = new URL('../../localstack-compose.yml', import.meta.url);

interface Service {
  image: string;
  ports: string[];
  command?: string[];
  environment?: Record<string, string>;
}

describe('localstack-compose.yml', () => {
  it('runs LocalStack on 4566 and the Pub/Sub emulator on 8085, on loopback only', async () => {
    // Prepare
    const text = await readFile(COMPOSE, 'utf8');

    // Act
    const { services } = parse(text) as { services: Record<string, Service> };

    // Assess
    expect(Object.keys(services).sort()).toEqual(['localstack', 'pubsub']);
    expect(services.localstack?.image).toMatch(/^localstack\/localstack/);
    expect(services.localstack?.ports).toEqual(['127.0.0.1:4566:4566']);
    expect(services.localstack?.environment?.SERVICES?.split(',')).toEqual(
      expect.arrayContaining(['sqs', 'dynamodb', 'dynamodbstreams', 's3']),
    );
    expect(services.pubsub?.image).toBe('gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators');
    expect(services.pubsub?.command?.join(' ')).toMatch(
      /^gcloud beta emulators pubsub start .*--host-port=0\.0\.0\.0:8085/,
    );
    expect(services.pubsub?.ports).toEqual(['127.0.0.1:8085:8085']);
  });

  it('takes the LocalStack auth token from the environment, required, and holds no token itself', async () => {
    // Prepare
    const text = await readFile(COMPOSE, 'utf8');

    // Act
    const { services } = parse(text) as { services: Record<string, Service> };

    // Assess
    expect(services.localstack?.environment?.LOCALSTACK_AUTH_TOKEN).toMatch(
      /^\$\{LOCALSTACK_AUTH_TOKEN:\?[^}]+\}$/,
    );
    expect(text).not.toMatch(/ls-[A-Za-z0-9]{8,}/);
  });
});
