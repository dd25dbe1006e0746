import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DEFAULT_JOB_TTL_SECONDS, RUNNING_JOB_RETENTION_SECONDS, TaskState } from '../../core/constants.ts';
import {
  type Attempt,
  type CancelRequest,
  type ClaimAndFinishRequest,
  type ClaimRequest,
  type ClaimResult,
  endedAttempt,
  type FinishRequest,
  startedAttempt,
  type TaskRecord,
} from '../../core/task.ts';
import type {
  CombinedResult,
  IngestCheckpoint,
  JobListCursor,
  JobRecord,
  SegmentRecord,
  TaskStore,
} from '../../ports/task-store.ts';
import { DynamoJobLedger } from './dynamo-job-ledger.ts';
import { DynamoTaskControls } from './dynamo-task-controls.ts';
import {
  type Item,
  ItemUpdate,
  JOB_SK,
  jobListKeys,
  pk,
  recordingTry,
  TRANSACTION_ITEMS,
  taskSk,
  toJob,
  toTask,
  waitsFor,
} from './dynamo-task-items.ts';

const isConditionFailure = (error: unknown): boolean => error instanceof ConditionalCheckFailedException;

/**
 * Jobs and tasks in one DynamoDB table (`pk` = JOB#id; `sk` = JOB or TASK#index, zero-padded so that a
 * query returns tasks in index order). Claims and finishes are single conditional updates carrying the
 * same conditions as `applyClaim`, `applyFinish` and `applyClaimAndFinish`: a try costs one write when it
 * is recorded whole at its end, two when it is claimed first.
 */
export interface DynamoTaskStoreOptions {
  /**
   * How long a job and its tasks are kept after their last write: the table's TTL attribute `expiresAt`
   * is set on each, so finished jobs expire.
   * @default DEFAULT_JOB_TTL_SECONDS (3600, one hour)
   */
  jobTtlSeconds?: number;
}

export class DynamoTaskStore implements TaskStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #jobTtlSeconds: number;
  readonly #ledger: DynamoJobLedger;
  readonly #controls: DynamoTaskControls;

  constructor(client: DynamoDBDocumentClient, tableName: string, options: DynamoTaskStoreOptions = {}) {
    this.#client = client;
    this.#table = tableName;
    this.#jobTtlSeconds = options.jobTtlSeconds ?? DEFAULT_JOB_TTL_SECONDS;
    const expiresAt = (now: number) => this.#expiresAt(now);
    this.#ledger = new DynamoJobLedger(client, tableName, expiresAt);
    this.#controls = new DynamoTaskControls(client, tableName, expiresAt);
  }

  /**
   * The TTL attribute of an item written at `now`, in epoch seconds: kept for the TTL, or for as long as
   * a job may still run if that is longer (see `RUNNING_JOB_RETENTION_SECONDS`); the stats function
   * expires a job's item its TTL after the job ends.
   */
  #expiresAt(now: number): number {
    return Math.floor(now / 1000) + Math.max(this.#jobTtlSeconds, RUNNING_JOB_RETENTION_SECONDS);
  }

  async createJob(job: JobRecord): Promise<void> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: pk(job.jobId),
            sk: JOB_SK,
            ...jobListKeys(job),
            ...job,
            expiresAt: this.#expiresAt(job.createdAt),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    await this.#ledger.activate(job);
  }

  checkpoint(jobId: string, previousSteps: number, next: IngestCheckpoint): Promise<boolean> {
    return this.#ledger.checkpoint(jobId, previousSteps, next);
  }

  putSegment(segment: SegmentRecord): Promise<void> {
    return this.#ledger.putSegment(segment);
  }

  segmentOf(jobId: string, index: number): Promise<SegmentRecord | undefined> {
    return this.#ledger.segmentOf(jobId, index);
  }

  listSegments(jobId: string): Promise<SegmentRecord[]> {
    return this.#ledger.listSegments(jobId);
  }

  listActiveJobs(): Promise<JobRecord[]> {
    return this.#ledger.listActiveJobs();
  }

  retireJob(jobId: string): Promise<void> {
    return this.#ledger.retireJob(jobId);
  }

  listJobs(page: { limit: number; after?: JobListCursor }): Promise<JobRecord[]> {
    return this.#ledger.listJobs(page);
  }

  cancelJob(jobId: string, at: number): Promise<JobRecord | undefined> {
    return this.#ledger.cancelJob(jobId, at);
  }

  rerunJob(jobId: string, at: number): Promise<void> {
    return this.#ledger.rerunJob(jobId, at);
  }

  cancelTask(request: CancelRequest): Promise<boolean> {
    return this.#controls.cancelTask(request);
  }

  reopenTask(jobId: string, index: number, now: number): Promise<TaskRecord | undefined> {
    return this.#controls.reopenTask(jobId, index, now);
  }

  deleteJob(jobId: string): Promise<void> {
    return this.#ledger.deleteJob(jobId);
  }

  setJobTotal(jobId: string, chunksTotal: number): Promise<void> {
    return this.#setOnJob(jobId, 'chunksTotal', chunksTotal);
  }

  claimEndNotice(jobId: string, at: number): Promise<boolean> {
    return this.#ledger.claimEndNotice(jobId, at);
  }

  setJobResult(jobId: string, combined: CombinedResult): Promise<void> {
    return this.#setOnJob(jobId, 'combined', { ref: combined.ref, at: combined.at });
  }

  failJob(jobId: string, reason: string, at: number): Promise<void> {
    return this.#setOnJob(jobId, 'failed', { reason, at });
  }

  /** Sets one attribute of a job's item; a job the table does not hold stays unknown. */
  async #setOnJob(jobId: string, attribute: string, value: unknown): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: pk(jobId), sk: JOB_SK },
          UpdateExpression: 'SET #attribute = :value',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#attribute': attribute },
          ExpressionAttributeValues: { ':value': value },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { pk: pk(jobId), sk: JOB_SK }, ConsistentRead: true }),
    );
    return Item && toJob(Item);
  }

  /** New tasks go in transactions of 100 conditional puts; a group that meets an existing task goes one by one. */
  async putTasks(tasks: readonly TaskRecord[]): Promise<void> {
    for (let start = 0; start < tasks.length; start += TRANSACTION_ITEMS) {
      const group = tasks.slice(start, start + TRANSACTION_ITEMS);
      try {
        await this.#client.send(
          new TransactWriteCommand({ TransactItems: group.map((task) => ({ Put: this.#newTask(task) })) }),
        );
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        for (const task of group) {
          try {
            await this.#client.send(new PutCommand(this.#newTask(task)));
          } catch (single) {
            if (!isConditionFailure(single)) throw single;
          }
        }
      }
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    const attempt = startedAttempt(request);
    const key = { pk: pk(request.jobId), sk: taskSk(request.index) };
    const update = recordingTry(request, attempt, request.now);
    update.add('#state = :processing', { ':processing': TaskState.processing });
    update.add('leaseExpiresAt = :lease', { ':lease': request.now + request.leaseMs });
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key,
          UpdateExpression: update.expression(),
          ConditionExpression: waitsFor(request.attempt),
          ...update.attributes(),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, task: toTask(Attributes as Item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.#conflicting(error, key);
      if (current === undefined) return { claimed: false, state: 'missing' };
      return this.#takeOver(key, request, attempt, current);
    }
  }

  /** The second claim rule: the same try, processing, whose lease ran out (its worker died). */
  async #takeOver(key: Item, request: ClaimRequest, attempt: Attempt, current: Item): Promise<ClaimResult> {
    try {
      const { Attributes } = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key,
          UpdateExpression: `SET attempts[${request.attempt - 1}] = :try, claimId = :claimId, leaseExpiresAt = :lease, updatedAt = :now`,
          ConditionExpression: '#state = :processing AND attemptCount = :attempt AND leaseExpiresAt <= :now',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':processing': TaskState.processing,
            ':attempt': request.attempt,
            ':claimId': request.claimId,
            ':lease': request.now + request.leaseMs,
            ':now': request.now,
            ':try': attempt,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, task: toTask(Attributes as Item) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const latest = (await this.#conflicting(error, key)) ?? current;
      return { claimed: false, state: latest.state as TaskState };
    }
  }

  async finish(request: FinishRequest): Promise<boolean> {
    const at = `attempts[${request.attempt - 1}]`;
    const update = new ItemUpdate({
      ':outcome': request.outcome,
      ':now': request.now,
      ':processing': TaskState.processing,
      ':claimId': request.claimId,
      ':attempt': request.attempt,
    });
    update.set('#state = :outcome', 'updatedAt = :now', `${at}.endedAt = :now`, `${at}.outcome = :outcome`);
    if (request.workerId) update.add(`${at}.workerId = :workerId`, { ':workerId': request.workerId });
    if (request.error)
      update.add(`${at}.#error = :error`, { ':error': request.error }, { '#error': 'error' });
    if (request.durationMs !== undefined)
      update.add(`${at}.durationMs = :durationMs`, { ':durationMs': request.durationMs });
    this.#setEnd(update, request);
    return this.#conditionally({
      Key: { pk: pk(request.jobId), sk: taskSk(request.index) },
      UpdateExpression: `${update.expression()} REMOVE leaseExpiresAt`,
      ConditionExpression: '#state = :processing AND claimId = :claimId AND attemptCount = :attempt',
      ...update.attributes(),
    });
  }

  /** One conditional update: the claim's condition, and the try appended whole with its end. */
  async claimAndFinish(request: ClaimAndFinishRequest): Promise<boolean> {
    const ended = endedAttempt(startedAttempt({ ...request, now: request.startedAt }), request);
    const update = recordingTry(request, ended, request.now);
    update.add('#state = :outcome', { ':outcome': request.outcome });
    this.#setEnd(update, request);
    return this.#conditionally({
      Key: { pk: pk(request.jobId), sk: taskSk(request.index) },
      UpdateExpression: update.expression(),
      ConditionExpression: waitsFor(request.attempt),
      ...update.attributes(),
    });
  }

  /** What the end of a try sets on the task itself, besides its state. */
  #setEnd(update: ItemUpdate, request: FinishRequest): void {
    if (request.outcome === TaskState.failed && request.error)
      update.add('#error = :error', { ':error': request.error }, { '#error': 'error' });
    if (request.bytesOut !== undefined) update.add('bytesOut = :bytesOut', { ':bytesOut': request.bytesOut });
    if (request.result !== undefined)
      update.add('#result = :result', { ':result': request.result }, { '#result': 'result' });
    if (request.rejects !== undefined)
      update.add('rejects = :rejects, rejected = :rejected', {
        ':rejects': request.rejects,
        ':rejected': request.rejected ?? 0,
      });
    update.add('expiresAt = :expiresAt', { ':expiresAt': this.#expiresAt(request.now) });
  }

  /** Sends an update; false when its condition failed. */
  async #conditionally(input: Omit<UpdateCommandInput, 'TableName'>): Promise<boolean> {
    try {
      await this.#client.send(new UpdateCommand({ TableName: this.#table, ...input }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async getTask(jobId: string, index: number): Promise<TaskRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: pk(jobId), sk: taskSk(index) },
        ConsistentRead: true,
      }),
    );
    return Item && toTask(Item);
  }

  async listTasks(jobId: string, state?: TaskState): Promise<TaskRecord[]> {
    const tasks: TaskRecord[] = [];
    const pages = paginateQuery(
      { client: this.#client },
      {
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :task)',
        ConsistentRead: true,
        ExpressionAttributeValues: { ':pk': pk(jobId), ':task': 'TASK#', ...(state && { ':state': state }) },
        ...(state && {
          FilterExpression: '#state = :state',
          ExpressionAttributeNames: { '#state': 'state' },
        }),
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) tasks.push(toTask(item));
    return tasks;
  }

  /**
   * The item a conditional update failed on: DynamoDB returns it with the failure (one request in all);
   * an emulator that does not is asked once more.
   */
  async #conflicting(error: unknown, key: Item): Promise<Item | undefined> {
    // The document client does not unmarshall the item that comes with the failure.
    const returned = (error as ConditionalCheckFailedException).Item;
    if (returned !== undefined) return unmarshall(returned);
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  #newTask(task: TaskRecord) {
    return {
      TableName: this.#table,
      Item: { pk: pk(task.jobId), sk: taskSk(task.index), attemptCount: task.attempts.length, ...task },
      ConditionExpression: 'attribute_not_exists(pk)',
    };
  }
}
