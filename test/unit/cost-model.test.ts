import { describe, expect, it } from 'vitest';
import { Cloud, costLines, costUsd, tryCostUsd } from '../../src/core/cost/model.ts';
import { LIST_PRICES, PRICE_TABLE, PRICES_READ_ON } from '../../src/core/cost/prices.ts';
import { defineGcpResources } from '../../src/deploy/gcp-resources.ts';
import { defineResources } from '../../src/deploy/resources.ts';

const KiB = 1024;

describe('the price table', () => {
  it('holds the list prices read on its date', () => {
    // Prepare
    const expected = {
      sqs_per_million_requests: 0.4,
      pubsub_per_tib: 40,
      dynamodb_per_million_wru: 0.625,
      dynamodb_per_million_rru: 0.125,
      s3_put_per_thousand: 0.005,
      s3_get_per_thousand: 0.0004,
      lambda_per_million_requests: 0.2,
      lambda_arm_per_gb_second: 0.0000133334,
      cloud_run_per_million_requests: 0.4,
      cloud_run_per_vcpu_second: 0.000024,
      cloud_run_per_gib_second: 0.0000025,
      aws_internet_egress_per_gb: 0.09,
      gcp_internet_egress_per_gib: 0.12,
    };

    // Act
    const prices = { ...LIST_PRICES };

    // Assess
    expect(prices).toEqual(expected);
    expect(PRICES_READ_ON).toBe('2026-12-07');
  });

  it('names a public source for every price', () => {
    // Prepare
    const entries = Object.entries(PRICE_TABLE);

    // Act
    const unsourced = entries.filter(
      ([, { source }]) => !/^https:\/\/(aws\.amazon\.com|cloud\.google\.com)\//.test(source),
    );

    // Assess
    expect(unsourced).toEqual([]);
  });
});

describe('the model of a try', () => {
  it('prices a 64 KiB try on AWS, line by line', () => {
    // Prepare: 1 try, 64 KiB in, 16 KiB out, 10 ms
    const usage = { tries: 1, bytesIn: 64 * KiB, bytesOut: 16 * KiB, durationMs: 10 };

    // Act
    const lines = costLines(Cloud.aws, usage, LIST_PRICES);

    // Assess: 0.338 SQS requests × $0.4/M; 0.0233 invocations × $0.2/M; 0.01 s × 1 GB × $0.0000133334;
    // 1 WRU × $0.625/M + 0.047 RRU × $0.125/M; 0.0233 PUT × $0.005/1k + 0.026 GET × $0.0004/1k
    expect(lines.sqs).toBeCloseTo(1.352e-7, 15);
    expect(lines.lambdaRequests).toBeCloseTo(4.66e-9, 15);
    expect(lines.lambdaDuration).toBeCloseTo(1.33334e-7, 15);
    expect(lines.dynamodb).toBeCloseTo(6.30875e-7, 15);
    expect(lines.s3).toBeCloseTo(1.269e-7, 15);
    expect(costUsd(Cloud.aws, usage, LIST_PRICES)).toBeCloseTo(1.030969e-6, 14);
  });

  it('prices the same try on Google Cloud, egress and the 100 ms minimum included', () => {
    // Prepare
    const usage = { tries: 1, bytesIn: 64 * KiB, bytesOut: 16 * KiB, durationMs: 10 };

    // Act
    const lines = costLines(Cloud.gcp, usage, LIST_PRICES);

    // Assess: (280 + 1,000) B × $40 / 2^40; $0.4/M; 0.1 s × (0.583 × $0.000024 + 1 × $0.0000025);
    // 1 WRU + 1 RRU; 1 PUT + 1 GET; 65,536 B × $0.09 / 1e9; 16,384 B × $0.12 / 2^30
    expect(lines.pubsub).toBeCloseTo(4.656612873e-8, 15);
    expect(lines.cloudRunRequests).toBeCloseTo(4e-7, 15);
    expect(lines.cloudRunDuration).toBeCloseTo(1.6492e-6, 15);
    expect(lines.dynamodb).toBeCloseTo(7.5e-7, 15);
    expect(lines.s3).toBeCloseTo(5.4e-6, 15);
    expect(lines.awsEgress).toBeCloseTo(5.89824e-6, 15);
    expect(lines.gcpEgress).toBeCloseTo(1.8310546875e-6, 15);
    expect(costUsd(Cloud.gcp, usage, LIST_PRICES)).toBeCloseTo(1.597506081623e-5, 13);
  });

  it('bills Cloud Run the time run once a try outlasts 100 ms', () => {
    // Prepare
    const usage = { tries: 1, bytesIn: 0, bytesOut: 0, durationMs: 1000 };

    // Act
    const { cloudRunDuration } = costLines(Cloud.gcp, usage, LIST_PRICES);

    // Assess: 1 s × $0.000016492
    expect(cloudRunDuration).toBeCloseTo(1.6492e-5, 15);
  });

  it('costs nothing for no tries', () => {
    // Prepare
    const none = { tries: 0, bytesIn: 0, bytesOut: 0, durationMs: 0 };

    // Act
    const costs = [costUsd(Cloud.aws, none, LIST_PRICES), costUsd(Cloud.gcp, none, LIST_PRICES)];

    // Assess
    expect(costs).toEqual([0, 0]);
  });

  it('follows an overridden price', () => {
    // Prepare
    const prices = { ...LIST_PRICES, aws_internet_egress_per_gb: 0, gcp_internet_egress_per_gib: 0 };
    const usage = { tries: 1, bytesIn: 64 * KiB, bytesOut: 16 * KiB, durationMs: 10 };

    // Act
    const cost = costUsd(Cloud.gcp, usage, prices);

    // Assess: the total above less both egress lines
    expect(cost).toBeCloseTo(1.597506081623e-5 - 5.89824e-6 - 1.8310546875e-6, 13);
  });

  it('finds AWS cheaper for small and large chunks at the list prices', () => {
    // Prepare
    const sizes = [1 * KiB, 64 * KiB, 1024 * KiB];

    // Act
    const cheaper = sizes.map((bytes) =>
      tryCostUsd(Cloud.aws, bytes, LIST_PRICES) < tryCostUsd(Cloud.gcp, bytes, LIST_PRICES) ? 'aws' : 'gcp',
    );

    // Assess
    expect(cheaper).toEqual(['aws', 'aws', 'aws']);
  });

  it('sizes the functions as the deployments do', () => {
    // Prepare
    const aws = defineResources();
    const gcp = defineGcpResources();

    // Act
    const memory = [aws.processor.memoryMb, gcp.function.memoryMb];

    // Assess: FUNCTION_SIZE's 1 GB Lambda and 1 GiB Cloud Run function
    expect(memory).toEqual([1024, 1024]);
  });
});
