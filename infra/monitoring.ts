import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ObservabilityDefinition } from '../src/deploy/resources.ts';

/** A function to watch, with what to call it on the dashboard. */
export interface WatchedFunction {
  label: string;
  function: IFunction;
}

/** An AWS target's queues to watch: one a lane (or the one of ingest steps), and their dead letters. */
export interface WatchedQueue {
  target: string;
  /** Each named in its alarm and on the dashboard, e.g. `aws-high`. */
  queues: { name: string; queue: IQueue }[];
  deadLetters: IQueue;
}

export interface MonitoringProps {
  observability: ObservabilityDefinition;
  api: HttpApi;
  table: Table;
  functions: WatchedFunction[];
  queues: WatchedQueue[];
  /** Where the stats stream mapping puts what it gave up on. */
  streamFailures: IQueue;
}

/**
 * The deployment's dashboard and its alarms: messages in a dead-letter queue (and in the stream's failure
 * queue), each function's error rate and throttles, and the age of the oldest message in a processor's
 * queue. Thresholds come from the resource definitions; no data is not a breach.
 */
export class Monitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { alarms } = props.observability;
    const period = Duration.seconds(alarms.periodSeconds);

    // Metric ids must differ across the expressions that share the dashboard's graph.
    const errorRates = props.functions.map(({ label, function: fn }, index) => {
      const rate = new MathExpression({
        expression: `IF(invocations${index} > 0, 100 * errors${index} / invocations${index}, 0)`,
        usingMetrics: {
          [`errors${index}`]: fn.metricErrors({ period, statistic: 'Sum' }),
          [`invocations${index}`]: fn.metricInvocations({ period, statistic: 'Sum' }),
        },
        period,
        label: `${label} error rate (%)`,
      });
      this.#alarm(
        `${label}ErrorRate`,
        rate,
        alarms.errorRatePercent,
        `${label}: over ${alarms.errorRatePercent}% of invocations failed; see its log group`,
      );
      const throttles = fn.metricThrottles({ period, statistic: 'Sum' });
      this.#alarm(
        `${label}Throttles`,
        throttles,
        alarms.throttles,
        `${label}: invocations were throttled; check the account's concurrency`,
      );
      return rate;
    });

    for (const { target, queues, deadLetters } of props.queues) {
      this.#alarm(
        `${target}DeadLetters`,
        deadLetters.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        alarms.deadLetterMessages,
        `${target}: deliveries the processor could not settle were moved to the dead-letter queue; inspect, then redrive`,
      );
      for (const { name, queue } of queues) {
        this.#alarm(
          `${name}OldestMessage`,
          queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
          alarms.oldestMessageAgeSeconds,
          `${name}: the oldest message waited over ${alarms.oldestMessageAgeSeconds} s; the processor is behind or failing`,
        );
      }
    }
    this.#alarm(
      'StreamFailures',
      props.streamFailures.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
      alarms.deadLetterMessages,
      'the stats function gave up on stream records; job summaries may lag their tasks',
    );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.observability.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    const graph = (title: string, left: IMetric[]) => new GraphWidget({ title, left, width: 12, height: 6 });
    const fns = props.functions;
    this.dashboard.addWidgets(
      new TextWidget({ markdown: `# Fanout: ${props.observability.dashboardName}`, width: 24, height: 1 }),
      graph('API requests', [props.api.metricCount({ period, statistic: 'Sum' })]),
      graph('API errors and latency (p99)', [
        props.api.metricClientError({ period, statistic: 'Sum' }),
        props.api.metricServerError({ period, statistic: 'Sum' }),
        props.api.metricLatency({ period, statistic: 'p99' }),
      ]),
      graph(
        'Queue depth',
        props.queues.flatMap(({ target, queues, deadLetters }) => [
          ...queues.map(({ name, queue }) =>
            queue.metricApproximateNumberOfMessagesVisible({ period, label: `${name} visible` }),
          ),
          deadLetters.metricApproximateNumberOfMessagesVisible({ period, label: `${target} dead letters` }),
        ]),
      ),
      graph(
        'Age of the oldest message (s)',
        props.queues.flatMap(({ queues }) =>
          queues.map(({ name, queue }) => queue.metricApproximateAgeOfOldestMessage({ period, label: name })),
        ),
      ),
      graph('Function error rate (%)', errorRates),
      graph(
        'Function invocations and throttles',
        fns.flatMap(({ label, function: fn }) => [
          fn.metricInvocations({ period, statistic: 'Sum', label: `${label} invocations` }),
          fn.metricThrottles({ period, statistic: 'Sum', label: `${label} throttles` }),
        ]),
      ),
      graph(
        'Function duration (p95, ms)',
        fns.map(({ label, function: fn }) => fn.metricDuration({ period, statistic: 'p95', label })),
      ),
      graph('Table consumed capacity', [
        props.table.metricConsumedWriteCapacityUnits({ period, statistic: 'Sum' }),
        props.table.metricConsumedReadCapacityUnits({ period, statistic: 'Sum' }),
      ]),
      graph('Chunks by outcome (Powertools metrics)', [
        new MathExpression({
          expression: `SEARCH('{${props.observability.metricsNamespace},service} MetricName="chunks_"', 'Sum', ${alarms.periodSeconds})`,
          usingMetrics: {},
          period,
          label: '',
        }),
      ]),
    );
  }

  #alarm(id: string, metric: IMetric, threshold: number, description: string): void {
    this.alarms.push(
      new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      }),
    );
  }
}
