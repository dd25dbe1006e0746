import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionEnvironment } from '../../src/config/function-env.ts';
import type { Lanes } from '../../src/core/lanes.ts';
import { everyLane } from '../../src/core/lanes.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { type EmulatorMode, startEmulatorMode } from '../../src/local/emulator-mode.ts';
import { emulatorEnvironment, PUBSUB_PROJECT_ID } from '../../src/local/emulator-state.ts';
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
        gcp: everyLane(topic(`${prefix}-gcp`)),
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
});
