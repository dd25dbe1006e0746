import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineResources } from '../../src/deploy/resources.ts';
import { NO_BUNDLING, type Synthesized, synthesize } from './synth.ts';

const resources = defineResources();

let shipped: Synthesized;
let emulator: Synthesized;

beforeAll(() => {
  shipped = synthesize(NO_BUNDLING);
  emulator = synthesize({ ...NO_BUNDLING, emulator: 'true' });
}, 120_000);

afterAll(() => {
  shipped?.dispose();
  emulator?.dispose();
});

describe('the stack for a local emulator (-c emulator=true)', () => {
  it('leaves out the event sources and the schedule an emulator cannot run, and nothing else', () => {
    // Act
    const mappings = (synthesized: Synthesized) => [
      ...Object.keys(synthesized.template.findResources('AWS::Lambda::EventSourceMapping')),
      ...Object.keys(synthesized.template.findResources('AWS::Scheduler::Schedule')),
    ];
    const others = (synthesized: Synthesized) =>
      Object.keys(synthesized.template.toJSON().Resources).filter(
        (id) => !mappings(synthesized).includes(id),
      );

    // Assess: only the schedule's invoke permission goes with the schedule
    const resourcesOf = shipped.template.toJSON().Resources as Record<string, { Type: string }>;
    const gone = others(shipped).filter((id) => !others(emulator).includes(id));
    // The processor's three lane mappings, the ingest step's, the stream's, and the schedule.
    expect(mappings(shipped)).toHaveLength(6);
    expect(mappings(emulator)).toEqual([]);
    expect(others(emulator).every((id) => others(shipped).includes(id))).toBe(true);
    expect(gone.map((id) => resourcesOf[id]?.Type)).toEqual(['AWS::IAM::Policy']);
    expect(gone[0]).toMatch(/^ReconcileInvoker/);
  });
});

describe('the stack outputs', () => {
  it('name the API, the queues, the table and its stream, and the buckets', () => {
    // Act
    const outputs = shipped.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assess
    expect(Object.keys(outputs).sort()).toEqual(
      [
        'AccessLogsBucketName',
        'ApiEndpoint',
        'AwsDeadLetterQueueUrl',
        'AwsHighQueueUrl',
        'AwsMediumQueueUrl',
        'AwsLowQueueUrl',
        'BucketName',
        'DashboardName',
        'IngestStepsQueueUrl',
        'StreamFailuresQueueUrl',
        'TableName',
        'TableStreamArn',
      ].sort(),
    );
    expect(outputs.TableStreamArn?.Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^DataTasks/), 'StreamArn'],
    });
    expect(outputs.DashboardName?.Value).toBe(resources.observability.dashboardName);
  });
});
