import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { createPubSubClients } from '../adapters/gcp/clients.ts';
import { costing } from '../config/core-options.ts';
import { EnvironmentError } from '../config/errors.ts';
import {
  type DeployedFunction,
  type FunctionDeployment,
  functionEnvironment,
} from '../config/function-env.ts';
import { loadConfig } from '../config/load.ts';
import { queueAddress, topicPath } from '../config/queue-address.ts';
import { PRIORITIES } from '../core/constants.ts';
import { byLane } from '../core/lanes.ts';
import { ServiceEvents } from '../core/service-events.ts';
import { findDeployedAws } from '../deploy/find-deployed.ts';
import type { GcpResources } from '../deploy/gcp-resources.ts';
import { type ProvisionedAws, provisionAws } from '../deploy/provision.ts';
import { type ProvisionedGcp, provisionGcp } from '../deploy/provision-gcp.ts';
import type { Resources } from '../deploy/resources.ts';
import { serveDashboard } from '../util/dashboard-assets.ts';
import { EMULATOR_HOST } from './emulators.ts';
import { answerEvents, ingestReaders, tableJobEvents } from './event-route.ts';
import { PayloadTooLargeError, toHttpApiEvent, writeHttpApiResult } from './http-api-event.ts';
import { invokeLambda } from './lambda-context.ts';
import { ReconcileTimer } from './reconcile-timer.ts';
import { checkSigV4, type SigV4Identity } from './sigv4-check.ts';
import { SqsEventSource } from './sqs-event-source.ts';
import { StreamEventSource } from './stream-event-source.ts';

export interface EmulatorModeOptions {
  resources: Resources;
  /**
   * The Google side, on the Pub/Sub emulator at `PUBSUB_EMULATOR_HOST`: its target joins the AWS one.
   * @default none: the AWS target alone
   */
  gcp?: GcpResources;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 3000 */
  port?: number;
  /**
   * Processor batches at once. An emulator is one process on this machine, not a fleet.
   * @default the definition's `processor.maxConcurrency`
   */
  maxConcurrency?: number;
  /**
   * Whether the AWS processor consumes its queue; without it, the queue keeps what ingest sent, for a
   * caller that reads it itself.
   * @default true
   */
  processors?: boolean;
  /**
   * Run on what `npm run deploy:emulator` deployed, found by the definitions' names, instead of
   * provisioning: nothing on the AWS side is created or changed.
   * @default false
   */
  useDeployed?: boolean;
  /**
   * Refuse, with 403, every request to the HTTP API without a valid SigV4 signature for `execute-api`
   * by this identity, as API Gateway does for a route with IAM authorization.
   * @default none: every request passes
   */
  requireSigV4?: SigV4Identity;
  onError?: (error: unknown) => void;
}

/** The handlers of functions/ that emulator mode runs, by their folder. */
type HandlerName = 'ingest' | 'ingest-step' | 'process-aws' | 'stats' | 'process-gcp' | 'reconcile';

/** What each handler was loaded with: the environment its function holds when deployed. */
export type FunctionEnvironments = Partial<Record<HandlerName, Record<string, string>>>;

export interface EmulatorMode {
  url: string;
  provisioned: ProvisionedAws;
  environments: FunctionEnvironments;
  /** Present when the Google side runs. */
  provisionedGcp?: ProvisionedGcp;
  stop: () => Promise<void>;
}

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * The AWS side on a local emulator (moto or LocalStack, at `AWS_ENDPOINT_URL`): provisions the queues,
 * table and bucket from the same definitions the CDK stack deploys, then runs the real function handlers,
 * the ingest step fed by an SQS event source, the processor by one per lane queue (each with its lane's
 * concurrency) and the stats function by a stream event source, and the ingest function behind a local
 * HTTP API, which streams `GET /events` and `GET /jobs/{id}/events` itself. With `gcp`, the Google function runs too, under
 * functions-framework's own server, fed by each lane's push subscription of the Pub/Sub emulator. The
 * handlers read their settings from `process.env`, as in a function, so this sets there what
 * `functionEnvironment` gives each one, as the stack and the Google deploy plan do, before loading it.
 */
export const startEmulatorMode = async (options: EmulatorModeOptions): Promise<EmulatorMode> => {
  const { resources } = options;
  if (!process.env.AWS_ENDPOINT_URL) {
    throw new EnvironmentError(
      'AWS_ENDPOINT_URL is not set; start the emulators first: eval "$(npx fanout emulators start)"',
    );
  }
  const [queue] = resources.queues;
  if (queue === undefined || resources.queues.length > 1) {
    throw new EnvironmentError(
      'emulator mode runs one AWS processor queue; define resources with one AWS target',
    );
  }
  const gcpTarget = options.gcp?.targets[0];
  if (options.gcp !== undefined && (gcpTarget === undefined || options.gcp.targets.length > 1)) {
    throw new EnvironmentError('emulator mode runs one Google Cloud target; define resources with one');
  }
  if (gcpTarget !== undefined && !process.env.PUBSUB_EMULATOR_HOST) {
    throw new EnvironmentError(
      'PUBSUB_EMULATOR_HOST is not set; start the emulators first: eval "$(npx fanout emulators start)"',
    );
  }
  const sqs = new SQSClient({});
  const dynamo = new DynamoDBClient({});
  const s3 = new S3Client({ forcePathStyle: true });
  const streams = new DynamoDBStreamsClient({});
  const provisioned = await (options.useDeployed ? findDeployedAws : provisionAws)(resources, {
    sqs,
    dynamo,
    s3,
  });
  const pubsub = gcpTarget && (await createPubSubClients({ projectId: process.env.PUBSUB_PROJECT_ID }));
  const project = pubsub ? await pubsub.subscriber.getProjectId() : '';
  const deployment: FunctionDeployment = {
    tableName: resources.table.name,
    bucketName: provisioned.bucket,
    queues: {
      ...provisioned.queueUrls,
      ...(gcpTarget && {
        [gcpTarget.target]: byLane((lane) => topicPath(project, gcpTarget.lanes[lane].topic)),
      }),
    },
    jobTtlSeconds: resources.jobTtlSeconds,
    ingestSteps: provisioned.ingestSteps.url,
    ...(gcpTarget && { googleProject: project }),
    jobEventsBus: resources.jobEventsBus,
    ...(gcpTarget && options.gcp && { jobEventsTopic: topicPath(project, options.gcp.jobEventsTopic) }),
  };
  const environments: FunctionEnvironments = {};
  let loaded: Record<string, string> = {};
  // A handler reads its variables as it loads, as in a function of its own: each loads with its own alone.
  const loadWith = async <T>(handler: HandlerName, fn: DeployedFunction, load: () => Promise<T>) => {
    for (const variable of Object.keys(loaded)) delete process.env[variable];
    loaded = functionEnvironment(deployment, fn);
    environments[handler] = loaded;
    Object.assign(process.env, loaded);
    return load();
  };
  const ingest = await loadWith('ingest', { name: 'ingest' }, async () => {
    const { handler } = await import('../../functions/ingest/handler.ts');
    return handler as Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
  });
  const ingestStep = await loadWith('ingest-step', { name: 'ingest-step' }, async () => {
    const { handler } = await import('../../functions/ingest-step/handler.ts');
    return handler as Handler<SQSEvent, SQSBatchResponse>;
  });
  const awsProcessor: DeployedFunction = {
    name: 'processor',
    target: queue.target,
    deadLetter: provisioned.deadLetterUrls[queue.target] as string,
    leaseMs: resources.processor.leaseMs,
  };
  const processAws = await loadWith('process-aws', awsProcessor, async () => {
    const { handler } = await import('../../functions/process-aws/handler.ts');
    return handler as Handler<SQSEvent, SQSBatchResponse>;
  });
  const stats = await loadWith('stats', { name: 'stats' }, async () => {
    const { handler } = await import('../../functions/stats/handler.ts');
    return handler as Handler<DynamoDBStreamEvent, DynamoDBBatchResponse>;
  });
  const reconcile = await loadWith('reconcile', { name: 'reconcile' }, async () => {
    const { handler } = await import('../../functions/reconcile/handler.ts');
    return handler as Handler<unknown, unknown>;
  });
  let gcpFunction: Server | undefined;
  let provisionedGcp: ProvisionedGcp | undefined;
  if (gcpTarget !== undefined && options.gcp !== undefined && pubsub) {
    const gcpProcessor: DeployedFunction = {
      name: 'processor',
      target: gcpTarget.target,
      deadLetter: topicPath(project, gcpTarget.deadLetterTopic),
      leaseMs: options.gcp.processor.leaseMs,
    };
    await loadWith('process-gcp', gcpProcessor, () => import('../../functions/process-gcp/index.ts'));
    gcpFunction = await listen(getTestServer('processGcp'), 0, EMULATOR_HOST);
    // Every lane's subscription pushes to this one function: on Google Cloud each lane has a function
    // of its own, bounded by its share of the instances, which one process here cannot stand for. The
    // topic in the push URL is what functions-framework names as the CloudEvent's source.
    const url = serverUrl(gcpFunction);
    const lanes = gcpTarget.lanes;
    provisionedGcp = await provisionGcp(options.gcp, pubsub.pubsub, {
      pushEndpoints: {
        [gcpTarget.target]: byLane((lane) => `${url}/${topicPath(project, lanes[lane].topic)}`),
      },
    });
  }
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  // A mapping a lane, each with its lane's concurrency, as the stack has them.
  const processors = PRIORITIES.map(
    (lane) =>
      new SqsEventSource({
        sqs,
        queueUrl: provisioned.queueUrls[queue.target]?.[lane] as string,
        queueArn: provisioned.queueArns[queue.target]?.[lane] as string,
        handler: processAws,
        functionName: `${resources.prefix}-process-${queue.target}`,
        timeoutMs: resources.processor.timeoutSeconds * 1000,
        batchSize: resources.processor.batchSize,
        maxBatchingWindowMs: resources.processor.maxBatchingWindowSeconds * 1000,
        maxConcurrency: Math.min(
          options.maxConcurrency ?? Number.POSITIVE_INFINITY,
          queue.lanes[lane].maxConcurrency,
        ),
        pollWaitSeconds: 1,
        onError,
      }),
  );
  const ingestSteps = new SqsEventSource({
    sqs,
    queueUrl: provisioned.ingestSteps.url,
    queueArn: provisioned.ingestSteps.arn,
    handler: ingestStep,
    functionName: resources.ingestSteps.functionName,
    timeoutMs: resources.ingestSteps.timeoutSeconds * 1000,
    batchSize: 1,
    maxConcurrency: resources.ingestSteps.maxConcurrency,
    pollWaitSeconds: 1,
    onError,
  });
  const aggregator = new StreamEventSource({
    streams,
    streamArn: provisioned.tableStreamArn,
    handler: stats,
    functionName: `${resources.prefix}-stats`,
    batchSize: resources.stats.batchSize,
    maxBatchingWindowMs: resources.stats.maxBatchingWindowSeconds * 1000,
    onError,
  });
  const jobEvents = tableJobEvents(
    dynamo,
    resources.table.name,
    costing(
      loadConfig({ env: process.env }),
      Object.fromEntries(
        Object.entries(deployment.queues).map(([target, lanes]) => [
          target,
          byLane((lane) => queueAddress.parse(lanes[lane])),
        ]),
      ),
    ),
    onError,
  );
  const invokeIngest = (event: APIGatewayProxyEventV2) =>
    invokeLambda(ingest, event, { functionName: `${resources.prefix}-ingest`, timeoutMs: 29_000 });
  const serviceEvents = new ServiceEvents(ingestReaders(invokeIngest), { intervalMs: 1000, onError });
  const server = createServer(async (req, res) => {
    try {
      if ((await serveDashboard(req, res)) || (await answerEvents(jobEvents, serviceEvents, req, res)))
        return;
      const event = await toHttpApiEvent(req);
      const refusal = options.requireSigV4 && (await checkSigV4(event, options.requireSigV4));
      if (refusal) {
        res.writeHead(403, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify(forbidden(refusal)));
        return;
      }
      writeHttpApiResult(res, await invokeIngest(event));
    } catch (error) {
      const tooLarge = error instanceof PayloadTooLargeError;
      if (!tooLarge) onError(error);
      res.writeHead(tooLarge ? 413 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: tooLarge ? 'Request Entity Too Large' : 'Internal Server Error' }));
    }
  });
  // What EventBridge Scheduler does on AWS, every `reconcile.interval_ms`.
  const reconciling = new ReconcileTimer(
    () =>
      invokeLambda(
        reconcile,
        {},
        {
          functionName: resources.functions.reconcile.name,
          timeoutMs: resources.functions.reconcile.timeoutSeconds * 1000,
        },
      ),
    loadConfig({ env: process.env }).reconcile.interval_ms,
    onError,
  );
  const consumers = [ingestSteps, ...(options.processors === false ? [] : processors)];
  for (const consumer of consumers) consumer.start();
  aggregator.start();
  reconciling.start();
  await listen(server, options.port ?? 3000, options.host ?? '127.0.0.1');
  return {
    url: serverUrl(server),
    provisioned,
    environments,
    ...(provisionedGcp && { provisionedGcp }),
    stop: async () => {
      jobEvents.close();
      serviceEvents.close();
      await closeServer(server);
      if (gcpFunction !== undefined) await closeServer(gcpFunction);
      await Promise.all([
        ...consumers.map((consumer) => consumer.stop()),
        aggregator.stop(),
        reconciling.stop(),
      ]);
      for (const client of [sqs, dynamo, s3, streams]) client.destroy();
      await pubsub?.close();
    },
  };
};

const forbidden = (detail: string) => ({
  type: 'urn:fanout:problem:bad-signature',
  title: 'Forbidden',
  status: 403,
  detail,
});

const listen = (server: Server, port: number, host: string): Promise<Server> =>
  new Promise((resolve) => server.listen(port, host, () => resolve(server)));

const serverUrl = (server: Server): string => {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address}:${port}`;
};

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
