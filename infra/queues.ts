import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { byLane, type Lanes } from '../src/core/lanes.ts';
import type {
  IngestStepsDefinition,
  QueueDefinition,
  StreamFailuresDefinition,
} from '../src/deploy/resources.ts';

/** An AWS target's queues, one a lane, and their dead-letter queue. */
export interface TargetQueues {
  definition: QueueDefinition;
  lanes: Lanes<Queue>;
  deadLetters: Queue;
}

// SQS-managed encryption: encrypted at rest with no KMS key for every producer and consumer to be granted.
const secure = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true } as const;

/**
 * Per AWS target, a queue per lane, each redriving to the target's dead-letter queue; the queue of ingest steps and its
 * dead-letter queue; and where the stats stream's failures go.
 */
export class Queues extends Construct {
  readonly targets: TargetQueues[];
  readonly ingestSteps: Queue;
  readonly ingestStepDeadLetters: Queue;
  readonly streamFailures: Queue;

  constructor(
    scope: Construct,
    id: string,
    props: {
      queues: QueueDefinition[];
      ingestSteps: IngestStepsDefinition;
      streamFailures: StreamFailuresDefinition;
    },
  ) {
    super(scope, id);
    this.targets = props.queues.map((definition) => {
      const deadLetters = new Queue(this, `${definition.target}DeadLetters`, {
        ...secure,
        queueName: definition.deadLetterName,
        retentionPeriod: Duration.seconds(definition.deadLetterRetentionSeconds),
      });
      const lanes = byLane(
        (lane) =>
          new Queue(this, `${definition.target}-${lane}`, {
            ...secure,
            queueName: definition.lanes[lane].name,
            visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
            retentionPeriod: Duration.seconds(definition.messageRetentionSeconds),
            deadLetterQueue: { queue: deadLetters, maxReceiveCount: definition.maxReceiveCount },
          }),
      );
      return { definition, lanes, deadLetters };
    });
    const steps = props.ingestSteps;
    this.ingestStepDeadLetters = new Queue(this, 'IngestStepDeadLetters', {
      ...secure,
      queueName: steps.deadLetterName,
      retentionPeriod: Duration.seconds(steps.deadLetterRetentionSeconds),
    });
    this.ingestSteps = new Queue(this, 'IngestSteps', {
      ...secure,
      queueName: steps.queueName,
      visibilityTimeout: Duration.seconds(steps.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(steps.messageRetentionSeconds),
      deadLetterQueue: { queue: this.ingestStepDeadLetters, maxReceiveCount: steps.maxReceiveCount },
    });
    this.streamFailures = new Queue(this, 'StreamFailures', {
      ...secure,
      queueName: props.streamFailures.queueName,
      retentionPeriod: Duration.seconds(props.streamFailures.retentionSeconds),
    });
  }
}
