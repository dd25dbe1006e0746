import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubSubClients } from '../../src/adapters/gcp/clients.ts';
import { PubSubQueue } from '../../src/adapters/gcp/pubsub-queue.ts';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { functionEnvironment } from '../../src/config/function-env.ts';
import { PRIORITIES } from '../../src/core/constants.ts';
import { byLane, type Lanes } from '../../src/core/lanes.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { emulatorEnvironment, PUBSUB_PROJECT_ID } from '../../src/local/emulator-state.ts';
import { waitFor } from '../support/e2e.ts';
import { type Moto, startMoto } from '../support/moto.ts';
import { type PubsubEmulator, startPubsubEmulator } from '../support/pubsub.ts';

const prefix = `env-${randomUUID().slice(0, 8)}`;
const resources = defineResources({ prefix });
const gcp = defineGcpResources({ prefix });

let moto: Moto;
let pubsubEmulator: PubsubEmulator;
let mode: EmulatorMode;

beforeAll(async () => {
  [moto, pubsubEmulator] = await Promise.all([startMoto(), startPubsubEmulator()]);
  Object.assign(process.env, {
    ...emulatorEnvironment({ moto, pubsub: pubsubEmulator }),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  mode = await startEmulatorMode({ resources, gcp, port: 0, maxConcurrency: 1 });
}, 60_000);

afterAll(async () => {
  await mode?.stop();
  await Promise.all([moto?.stop(), pubsubEmulator?.stop()]);
});

describe('emulator mode', () => {
  it('loads each handler with exactly the environment functionEnvironment builds for its function', () => {
    // Prepare
    const topic = (name: string) => `projects/${PUBSUB_PROJECT_ID}/topics/${name}`;
    const deployment = {
      tableName: resources.table.name,
      bucketName: mode.provisioned.bucket,
      queues: {
        aws: mode.provisioned.queueUrls.aws as Lanes<string>,
        gcp: byLane((lane) => topic(`${prefix}-gcp-${lane}`)),
      },
      jobTtlSeconds: resources.jobTtlSeconds,
      ingestSteps: mode.provisioned.ingestSteps.url,
      googleProject: PUBSUB_PROJECT_ID,
      jobEventsBus: 'default',
      jobEventsTopic: topic(`${prefix}-job-events`),
    };

    // Act
    const { environments } = mode;

    // Assess
    expect(environments).toEqual({
      ingest: functionEnvironment(deployment, { name: 'ingest' }),
      'ingest-step': functionEnvironment(deployment, { name: 'ingest-step' }),
      'process-aws': functionEnvironment(deployment, {
        name: 'processor',
        target: 'aws',
        deadLetter: mode.provisioned.deadLetterUrls.aws as string,
        leaseMs: resources.processor.leaseMs,
      }),
      stats: functionEnvironment(deployment, { name: 'stats' }),
      reconcile: functionEnvironment(deployment, { name: 'reconcile' }),
      'process-gcp': functionEnvironment(deployment, {
        name: 'processor',
        target: 'gcp',
        deadLetter: topic(`${prefix}-gcp-dlq`),
        leaseMs: gcp.processor.leaseMs,
      }),
    });
  });

  it('takes away one handler’s variables before it sets the next one’s', () => {
    // Act
    const { TARGET, BUCKET_NAME, FANOUT_TARGETS } = process.env;

    // Assess
    expect({ TARGET, BUCKET_NAME, FANOUT_TARGETS }).toEqual({
      TARGET: 'gcp',
      BUCKET_NAME: mode.provisioned.bucket,
      FANOUT_TARGETS: undefined,
    });
  });

  it("publishes a high job's tries to the Google target's high topic, whose subscription pushes them to the function", async () => {
    // Prepare: a pull subscription beside each lane's push subscription sees what is published to the lane.
    const clients = await createPubSubClients({ projectId: PUBSUB_PROJECT_ID });
    const [target] = gcp.targets;
    const taps = await Promise.all(
      PRIORITIES.map(async (lane) => {
        const topic = target?.lanes[lane].topic as string;
        await clients.pubsub.topic(topic).createSubscription(`${topic}-tap`);
        return new PubSubQueue<ChunkMessage>(clients, { topic, subscription: `${topic}-tap` });
      }),
    );
    const lines = Buffer.from(
      Array.from({ length: 3 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(700)}"}\n`).join(''),
    );

    // Act
    const response = await fetch(
      `${mode.url}/jobs?priority=high&targets=gcp&pipeline=validate&chunkSize=1024`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: lines,
      },
    );
    const { jobId } = (await response.json()) as { jobId: string };
    const job = await waitFor(async () => {
      const view = (await (await fetch(`${mode.url}/jobs/${jobId}`)).json()) as {
        status: string;
        priority: string;
        chunksTotal: number;
      };
      return ['completed', 'completed_with_failures', 'failed', 'cancelled'].includes(view.status)
        ? view
        : undefined;
    }, 30_000);
    const seen = await Promise.all(
      taps.map(async (tap) => {
        const deliveries = await tap.receive({ max: 10, waitMs: 1000, visibilityMs: 60_000 });
        return deliveries.filter((delivery) => delivery.body.jobId === jobId).length;
      }),
    );
    await clients.close();

    // Assess
    expect(response.status).toBe(202);
    expect(job).toMatchObject({ status: 'completed', priority: 'high', chunksTotal: 3 });
    expect(Object.fromEntries(PRIORITIES.map((lane, i) => [lane, seen[i]]))).toEqual({
      high: 3,
      medium: 0,
      low: 0,
    });
  });

  it('runs a high job submitted behind a low backlog of 20 times the pushes in flight before a quarter of the backlog', async () => {
    // Prepare: the emulator pushes about two messages of a subscription at a time; each low try takes 2 s.
    const job = async (query: string, chunks: number) => {
      const body = Array.from({ length: chunks }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(700)}"}\n`).join(
        '',
      );
      const response = await fetch(`${mode.url}/jobs?targets=gcp&chunkSize=1024&${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
      return ((await response.json()) as { jobId: string }).jobId;
    };
    const view = async (jobId: string) =>
      (await (await fetch(`${mode.url}/jobs/${jobId}`)).json()) as {
        status: string;
        chunksCompleted: number;
      };
    const backlog = await job('priority=low&pipeline=validate,chaos:delay=2000', 40);

    // Act
    const urgent = await job('priority=high&pipeline=validate', 2);
    await waitFor(async () => ((await view(urgent)).status === 'completed' ? true : undefined), 30_000);
    const low = await view(backlog);
    // Cancelled and its tries in flight ended, so none is cut off when emulator mode stops.
    await fetch(`${mode.url}/jobs/${backlog}`, { method: 'DELETE' });
    await waitFor(async () => ((await view(backlog)).status === 'cancelled' ? true : undefined), 30_000);

    // Assess
    expect(low.chunksCompleted).toBeLessThan(40 / 4);
  });
});
