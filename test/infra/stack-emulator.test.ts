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
  it('leaves out the event sources an emulator cannot run, and nothing else', () => {
    // Act
    const mappings = (synthesized: Synthesized) =>
      Object.keys(synthesized.template.findResources('AWS::Lambda::EventSourceMapping'));
    const others = (synthesized: Synthesized) =>
      Object.keys(synthesized.template.toJSON().Resources).filter(
        (id) => !mappings(synthesized).includes(id),
      );

    // Assess
    expect(mappings(shipped)).toHaveLength(2);
    expect(mappings(emulator)).toEqual([]);
    expect(others(emulator)).toEqual(others(shipped));
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
        'AwsQueueUrl',
        'BucketName',
        'DashboardName',
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
