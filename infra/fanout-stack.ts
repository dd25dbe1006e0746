import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { type IEventSource, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type FunctionDeployment, functionEnvironment } from '../src/config/function-env.ts';
import { topicPath } from '../src/config/queue-address.ts';
import { PRIORITIES } from '../src/core/constants.ts';
import { byLane, type Lanes } from '../src/core/lanes.ts';
import type { StackConfig } from './config.ts';
import { DataStores } from './data-stores.ts';
import { FanoutFunction, PUBSUB_RUNTIME_MODULES } from './fanout-function.ts';
import { externalAccountCredentials, GoogleFunctionRole } from './google-federation.ts';
import { FanoutHttpApi } from './http-api.ts';
import { Monitoring } from './monitoring.ts';
import { acknowledgeNagFindings } from './nag-acknowledgements.ts';
import { addResourceOutputs } from './outputs.ts';
import { Queues } from './queues.ts';
import { ReconcileFunction } from './reconcile-function.ts';

export interface FanoutStackProps extends StackProps {
  config: StackConfig;
}

/**
 * The AWS side of a deployment: the HTTP API and the ingest, ingest-step, stats and processor functions, the queues,
 * the task table and the data bucket, the dashboard and alarms, and, when a Google project is configured,
 * the role the Google functions assume and the credential configuration the AWS functions publish to
 * Pub/Sub with. Every name and limit comes from `defineResources` / `defineGcpResources`.
 */
export class FanoutStack extends Stack {
  readonly api: FanoutHttpApi;
  readonly googleFunctionRole: Role | undefined;

  constructor(scope: Construct, id: string, props: FanoutStackProps) {
    super(scope, id, props);
    const { resources, google, emulator, webhookSecretArn } = props.config;
    // An emulator cannot run the functions: its event sources would fail each event into the dead
    // letters. Emulator mode polls the queues and the stream, and runs the reconciler on a timer.
    const trigger = (fn: FanoutFunction, source: IEventSource) => {
      if (!emulator) fn.function.addEventSource(source);
    };
    const data = new DataStores(this, 'Data', resources);
    const queues = new Queues(this, 'Queues', resources);

    const queueAddresses: Record<string, Lanes<string>> = Object.fromEntries([
      ...queues.targets.map(({ definition, lanes }) => [definition.target, byLane((l) => lanes[l].queueUrl)]),
      ...(google === undefined
        ? []
        : google.resources.targets.map(({ target, lanes }) => [
            target,
            byLane((lane) => topicPath(google.project, lanes[lane].topic)),
          ])),
    ]);
    const deployment: FunctionDeployment = {
      tableName: data.table.tableName,
      bucketName: data.bucket.bucketName,
      queues: queueAddresses,
      jobTtlSeconds: resources.jobTtlSeconds,
      ingestSteps: queues.ingestSteps.queueUrl,
      jobEventsBus: resources.jobEventsBus,
      ...(webhookSecretArn !== undefined && { webhookSecretArn }),
      ...(google !== undefined && {
        googleProject: google.project,
        gcpCredentials: externalAccountCredentials(google),
        jobEventsTopic: topicPath(google.project, google.resources.jobEventsTopic),
      }),
    };
    // Ingest and the processors publish to Pub/Sub when a target is on Google Cloud.
    const runtimeModules = google !== undefined ? PUBSUB_RUNTIME_MODULES : [];
    const sendToTargets = (grantee: IGrantable) => {
      for (const { lanes } of queues.targets)
        for (const lane of PRIORITIES) lanes[lane].grantSendMessages(grantee);
    };

    const ingest = new FanoutFunction(this, 'Ingest', {
      observability: resources.observability,
      runtimeModules,
      environment: functionEnvironment(deployment, { name: 'ingest' }),
      entry: 'ingest/handler.ts',
      definition: resources.functions.ingest,
      serviceName: 'ingest',
      description: 'Fanout HTTP API: stores inputs and records jobs; the ingest steps enqueue them',
    });
    data.grantTableData(ingest.role);
    data.grantJobsIndexQuery(ingest.role);
    const webhookSecret =
      webhookSecretArn === undefined
        ? undefined
        : Secret.fromSecretCompleteArn(this, 'WebhookSecret', webhookSecretArn);
    webhookSecret?.grantRead(ingest.role);
    data.grantObjectWrites(ingest.role, resources.bucket.inputsPrefix);
    data.grantObjectReads(ingest.role, resources.bucket.resultsPrefix, resources.bucket.uploadsPrefix);
    data.grantBucketProbe(ingest.role);
    // Readiness probes each target's queue (GetQueueAttributes, which this grant holds).
    sendToTargets(ingest.role);
    queues.ingestSteps.grantSendMessages(ingest.role);

    const { ingestSteps: steps } = resources;
    const ingestStep = new FanoutFunction(this, 'IngestStep', {
      observability: resources.observability,
      runtimeModules,
      environment: functionEnvironment(deployment, { name: 'ingest-step' }),
      entry: 'ingest-step/handler.ts',
      definition: {
        name: steps.functionName,
        memoryMb: steps.memoryMb,
        timeoutSeconds: steps.timeoutSeconds,
      },
      serviceName: 'ingest-step',
      description: "Fanout ingest step: splits a job's input from its checkpoint and sends its chunks",
    });
    trigger(
      ingestStep,
      new SqsEventSource(queues.ingestSteps, {
        batchSize: 1,
        maxConcurrency: steps.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    data.grantTableData(ingestStep.role);
    data.grantObjectReads(ingestStep.role, resources.bucket.inputsPrefix, resources.bucket.uploadsPrefix);
    data.grantObjectWrites(ingestStep.role, resources.bucket.inputsPrefix);
    data.grantObjectDeletes(ingestStep.role, resources.bucket.inputsPrefix);
    sendToTargets(ingestStep.role);
    queues.ingestSteps.grantSendMessages(ingestStep.role);

    const processors = queues.targets.map(({ definition, lanes, deadLetters }) => {
      const processor = new FanoutFunction(this, `Process-${definition.target}`, {
        observability: resources.observability,
        runtimeModules,
        entry: 'process-aws/handler.ts',
        definition: {
          name: definition.processorName,
          memoryMb: resources.processor.memoryMb,
          timeoutSeconds: resources.processor.timeoutSeconds,
        },
        serviceName: 'process-aws',
        environment: functionEnvironment(deployment, {
          name: 'processor',
          target: definition.target,
          deadLetter: deadLetters.queueUrl,
          leaseMs: resources.processor.leaseMs,
        }),
        description: `Fanout processor of target ${definition.target}: runs each chunk's pipeline`,
      });
      // A mapping a lane, each with its own share of the function's concurrency: a backlog in one lane
      // cannot take the others' instances.
      for (const lane of PRIORITIES) {
        trigger(
          processor,
          new SqsEventSource(lanes[lane], {
            batchSize: resources.processor.batchSize,
            maxBatchingWindow: Duration.seconds(resources.processor.maxBatchingWindowSeconds),
            maxConcurrency: definition.lanes[lane].maxConcurrency,
            reportBatchItemFailures: true,
          }),
        );
      }
      data.grantTableData(processor.role);
      data.grantObjectReads(processor.role, resources.bucket.inputsPrefix);
      data.grantObjectWrites(processor.role, resources.bucket.resultsPrefix);
      sendToTargets(processor.role);
      deadLetters.grantSendMessages(processor.role);
      return { target: definition.target, processor };
    });

    const stats = new FanoutFunction(this, 'Stats', {
      observability: resources.observability,
      // It publishes job ends to the Google topic of job events.
      runtimeModules,
      environment: functionEnvironment(deployment, { name: 'stats' }),
      entry: 'stats/handler.ts',
      definition: resources.functions.stats,
      serviceName: 'stats',
      description: "Fanout stats: folds the table's stream into job summaries",
    });
    trigger(
      stats,
      new DynamoEventSource(data.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: resources.stats.batchSize,
        maxBatchingWindow: Duration.seconds(resources.stats.maxBatchingWindowSeconds),
        retryAttempts: resources.stats.retryAttempts,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(queues.streamFailures),
      }),
    );
    data.grantTableData(stats.role);
    // A calculation's partials are read and its combined result written when its last chunk settles.
    data.grantObjectReads(stats.role, resources.bucket.resultsPrefix);
    data.grantObjectWrites(stats.role, resources.bucket.resultsPrefix);
    webhookSecret?.grantRead(stats.role);
    // The stats function announces each job's end on the bus: that bus, and PutEvents alone.
    stats.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [
          Stack.of(this).formatArn({
            service: 'events',
            resource: 'event-bus',
            resourceName: resources.jobEventsBus,
          }),
        ],
      }),
    );

    const reconcile = new ReconcileFunction(this, 'Reconcile', {
      resources,
      environment: functionEnvironment(deployment, { name: 'reconcile' }),
      runtimeModules,
      scheduled: !emulator,
    });
    data.grantTableData(reconcile.role);
    sendToTargets(reconcile.role);

    if (google !== undefined) {
      this.googleFunctionRole = new GoogleFunctionRole(this, 'GoogleFunction', {
        federation: resources.federation,
        google,
      }).role;
      data.grantTableData(this.googleFunctionRole);
      data.grantObjectReads(this.googleFunctionRole, resources.bucket.inputsPrefix);
      data.grantObjectWrites(this.googleFunctionRole, resources.bucket.resultsPrefix);
      // A Google try that fails may be retried on an AWS target.
      sendToTargets(this.googleFunctionRole);
    }

    this.api = new FanoutHttpApi(this, 'Http', {
      definition: resources.api,
      authorization: props.config.authorization,
      observability: resources.observability,
      ingest: ingest.function,
    });

    new Monitoring(this, 'Monitoring', {
      observability: resources.observability,
      api: this.api.api,
      table: data.table,
      functions: [
        { label: 'ingest', function: ingest.function },
        { label: 'ingest-step', function: ingestStep.function },
        ...processors.map(({ target, processor }) => ({
          label: `process-${target}`,
          function: processor.function,
        })),
        { label: 'stats', function: stats.function },
        { label: 'reconcile', function: reconcile.function },
      ],
      queues: [
        ...queues.targets.map(({ definition, lanes, deadLetters }) => ({
          target: definition.target,
          queues: PRIORITIES.map((lane) => ({ name: `${definition.target}-${lane}`, queue: lanes[lane] })),
          deadLetters,
        })),
        {
          target: 'ingest-steps',
          queues: [{ name: 'ingest-steps', queue: queues.ingestSteps }],
          deadLetters: queues.ingestStepDeadLetters,
        },
      ],
      streamFailures: queues.streamFailures,
    });

    acknowledgeNagFindings({
      queues,
      bucketUsers: [
        ingest.role,
        ingestStep.role,
        ...processors.map(({ processor }) => processor.role),
        stats.role,
        ...(this.googleFunctionRole !== undefined ? [this.googleFunctionRole] : []),
      ],
      streamReader: stats,
      scheduleInvoker: reconcile.invoker,
    });

    addResourceOutputs(this, { api: this.api.api, data, queues, resources });
    if (this.googleFunctionRole !== undefined) {
      new CfnOutput(this, 'GoogleFunctionRoleArn', {
        value: this.googleFunctionRole.roleArn,
        description: "The Google functions' AWS_ROLE_ARN",
      });
    }
  }
}
