import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubSubClients, type PubSubClients } from '../../src/adapters/gcp/clients.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { type PubsubEmulator, startPubsubEmulator } from '../support/pubsub.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;
const PROJECT = 'fanout-deploy-emulator';
const FUNCTION_URL = 'http://127.0.0.1:9/process';
const gcp = defineGcpResources({ prefix: 'planned', gcpTargets: ['gcp', 'gcp-2'] });

let emulator: PubsubEmulator;
let clients: PubSubClients;

beforeAll(async () => {
  emulator = await startPubsubEmulator();
  clients = await createPubSubClients({ emulatorHost: emulator.address, projectId: PROJECT });
});

afterAll(async () => {
  await clients?.close();
  await emulator?.stop();
});

const deployGcp = async (args: string[], env: NodeJS.ProcessEnv) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(NODE, ['scripts/deploy-gcp.ts', ...args], {
      cwd: ROOT,
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { ...(error as { code: number; stdout: string; stderr: string }) };
  }
};

const seconds = (duration: { seconds?: unknown } | null | undefined): number =>
  Number(duration?.seconds ?? 0);

describe('npm run deploy:gcp -- --emulator', () => {
  it("applies the plan's Pub/Sub part to the emulator: each lane's topic and push subscription, dead letters", async () => {
    // Prepare
    const env = {
      ...process.env,
      PUBSUB_EMULATOR_HOST: emulator.address,
      PUBSUB_PROJECT_ID: PROJECT,
      METADATA_SERVER_DETECTION: 'none',
    };

    // Act
    const { code, stderr } = await deployGcp(
      ['--emulator', '--prefix', 'planned', '--gcp-targets', 'gcp,gcp-2', '--function-url', FUNCTION_URL],
      env,
    );

    // Assess: read back through the Pub/Sub API
    expect(code, stderr).toBe(0);
    for (const target of gcp.targets) {
      for (const lane of Object.values(target.lanes)) {
        const [main] = await clients.pubsub.subscription(lane.subscription).getMetadata();
        const topic = `projects/${PROJECT}/topics/${lane.topic}`;
        expect(main.topic).toBe(topic);
        expect(main.pushConfig?.pushEndpoint).toBe(`${FUNCTION_URL}/${topic}`);
        expect(main.ackDeadlineSeconds).toBe(target.ackDeadlineSeconds);
        expect(main.deadLetterPolicy).toMatchObject({
          deadLetterTopic: `projects/${PROJECT}/topics/${target.deadLetterTopic}`,
          maxDeliveryAttempts: target.maxDeliveryAttempts,
        });
        expect(seconds(main.retryPolicy?.minimumBackoff)).toBe(target.minimumBackoffSeconds);
        expect(seconds(main.retryPolicy?.maximumBackoff)).toBe(target.maximumBackoffSeconds);
      }
      const [dead] = await clients.pubsub.subscription(target.deadLetterSubscription).getMetadata();
      expect(dead.topic).toBe(`projects/${PROJECT}/topics/${target.deadLetterTopic}`);
    }
    const [subscriptions] = await clients.pubsub.getSubscriptions();
    expect(subscriptions).toHaveLength(2 * 4);
  });

  it('exits 2 naming what is missing when no emulator is set', async () => {
    // Prepare
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('PUBSUB_')),
    );

    // Act
    const { code, stderr } = await deployGcp(['--emulator', '--function-url', 'not a url'], env);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/PUBSUB_EMULATOR_HOST is not set/);
    expect(stderr).toMatch(/--project \(or PUBSUB_PROJECT_ID\): required/);
    expect(stderr).toMatch(/--function-url: not a URL: not a url/);
  });
});
