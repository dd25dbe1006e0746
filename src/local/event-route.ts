import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoHealthStore } from '../adapters/aws/dynamo-health-store.ts';
import { DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../adapters/aws/dynamo-task-store.ts';
import { readJobView, withBreakers } from '../cloud/job-views.ts';
import { PolledJobEvents } from '../cloud/polled-job-events.ts';
import type { Costing } from '../core/cost/costing.ts';
import { jobEventStream } from '../core/job-event-stream.ts';
import type { JobEventSource } from '../core/job-events.ts';
import { FOLLOWED_JOBS, type ServiceEvents, type ServiceReaders } from '../core/service-events.ts';
import { httpApiEvent } from './http-api-event.ts';

const EVENTS_PATH = /^\/jobs\/([^/?]+)\/events\/?(?:\?.*)?$/;
const SERVICE_EVENTS_PATH = /^\/events\/?(?:\?.*)?$/;

/** A function invoked with an HTTP API request, as emulator mode runs the ingest function. */
export type InvokeApi = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * What emulator mode's `GET /events` follows, read from the ingest function as a client would read it:
 * `GET /jobs` and `GET /targets` give the very views the API serves.
 */
export const ingestReaders = (invoke: InvokeApi): ServiceReaders => {
  const read = async (pathAndQuery: string) => {
    const result = await invoke(httpApiEvent('GET', pathAndQuery, {}));
    const body = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString() : result.body;
    if (result.statusCode !== 200)
      throw new Error(`GET ${pathAndQuery} answered ${result.statusCode}: ${body}`);
    return JSON.parse(body ?? '');
  };
  return {
    listJobs: async () => (await read(`/jobs?limit=${FOLLOWED_JOBS}`)).jobs,
    readTargets: async () => (await read('/targets')).targets,
  };
};

/**
 * Emulator mode's job events: the ingest function answers whole responses, as API Gateway does, so the
 * emulator-mode server streams `GET /jobs/{id}/events` itself, from the task table it polls: the job,
 * its tries, and its targets' shared breakers.
 */
export const tableJobEvents = (
  dynamo: DynamoDBClient,
  tableName: string,
  costing: Costing,
  onError: (error: unknown) => void,
): PolledJobEvents => {
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const tasks = new DynamoTaskStore(documents, tableName);
  const stats = new DynamoStatsStore(documents, tableName);
  const health = new DynamoHealthStore(documents, tableName);
  const getJob = async (jobId: string) => {
    const [view, breakers] = await Promise.all([readJobView(tasks, stats, costing, jobId), health.read()]);
    return view && withBreakers(view, breakers);
  };
  return new PolledJobEvents({ getJob, listTasks: (jobId) => tasks.listTasks(jobId) }, { onError });
};

/**
 * Answers `GET /jobs/{id}/events` from `source` and `GET /events` from `service`; false for any other
 * request, which goes on to ingest.
 */
export const answerEvents = async (
  source: JobEventSource,
  service: ServiceEvents,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> => {
  if (req.method !== 'GET') return false;
  const match = EVENTS_PATH.exec(req.url ?? '');
  if (match === null && !SERVICE_EVENTS_PATH.test(req.url ?? '')) return false;
  const lastEventId = req.headers['last-event-id'];
  const headers = { 'last-event-id': Array.isArray(lastEventId) ? lastEventId.join(',') : lastEventId };
  const response =
    match === null
      ? service.stream()
      : await jobEventStream(source, decodeURIComponent(match[1] ?? ''), headers);
  res.writeHead(response.status, response.headers);
  const { body } = response;
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) res.end(body);
  else await pipeline(Readable.from(body), res).catch(() => {});
  return true;
};
