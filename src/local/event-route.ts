import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoHealthStore } from '../adapters/aws/dynamo-health-store.ts';
import { DynamoStatsStore } from '../adapters/aws/dynamo-stats-store.ts';
import { DynamoTaskStore } from '../adapters/aws/dynamo-task-store.ts';
import { readJobView, withBreakers } from '../cloud/job-views.ts';
import { PolledJobEvents } from '../cloud/polled-job-events.ts';
import type { Costing } from '../core/cost/costing.ts';
import { jobEventStream } from '../core/job-event-stream.ts';
import type { JobEventSource } from '../core/job-events.ts';

const EVENTS_PATH = /^\/jobs\/([^/?]+)\/events\/?(?:\?.*)?$/;

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

/** Answers `GET /jobs/{id}/events` from `source`; false for any other request, which goes on to ingest. */
export const answerEvents = async (
  source: JobEventSource,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> => {
  const match = req.method === 'GET' ? EVENTS_PATH.exec(req.url ?? '') : null;
  if (match === null) return false;
  const lastEventId = req.headers['last-event-id'];
  const headers = { 'last-event-id': Array.isArray(lastEventId) ? lastEventId.join(',') : lastEventId };
  const response = await jobEventStream(source, decodeURIComponent(match[1] ?? ''), headers);
  res.writeHead(response.status, response.headers);
  const { body } = response;
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) res.end(body);
  else await pipeline(Readable.from(body), res).catch(() => {});
  return true;
};
