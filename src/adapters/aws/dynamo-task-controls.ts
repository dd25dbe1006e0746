import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TaskState } from '../../core/constants.ts';
import { applyReopen, type CancelRequest, type TaskRecord } from '../../core/task.ts';
import { type Item, pk, taskSk, toTask, waitsFor } from './dynamo-task-items.ts';

/**
 * What an operator's cancel and re-run do to a task item: single conditional updates carrying the
 * conditions of `applyCancel` and `applyReopen`. Part of `DynamoTaskStore`.
 */
export class DynamoTaskControls {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #expiresAt: (now: number) => number;

  constructor(client: DynamoDBDocumentClient, table: string, expiresAt: (now: number) => number) {
    this.#client = client;
    this.#table = table;
    this.#expiresAt = expiresAt;
  }

  /**
   * Cancels a task that waits for the request's try (try 1 may find no item, and creates it cancelled),
   * or whose try was abandoned (processing, its lease run out), which loses that try.
   */
  async cancelTask(request: CancelRequest): Promise<boolean> {
    return (await this.#cancelWaiting(request)) || this.#cancelAbandoned(request);
  }

  async #cancelWaiting(request: CancelRequest): Promise<boolean> {
    return this.#conditionally(request.jobId, request.index, {
      UpdateExpression:
        'SET #state = :cancelled, updatedAt = :now, attempts = if_not_exists(attempts, :none), attemptCount = if_not_exists(attemptCount, :zero), jobId = :jobId, #index = :index, #bytes = :bytes, sha256 = :sha256, expiresAt = :expiresAt',
      ConditionExpression: waitsFor(request.attempt),
      ExpressionAttributeNames: { '#state': 'state', '#index': 'index', '#bytes': 'bytes' },
      ExpressionAttributeValues: {
        ':cancelled': TaskState.cancelled,
        ':now': request.now,
        ':none': [],
        ':zero': 0,
        ':jobId': request.jobId,
        ':index': request.index,
        ':bytes': request.bytes,
        ':sha256': request.sha256,
        ':expiresAt': this.#expiresAt(request.now),
        ':pending': TaskState.pending,
        ':retrying': TaskState.retrying,
        ':previous': request.attempt - 1,
      },
    });
  }

  async #cancelAbandoned(request: CancelRequest): Promise<boolean> {
    return this.#conditionally(request.jobId, request.index, {
      UpdateExpression: `SET #state = :cancelled, attemptCount = :previous, updatedAt = :now REMOVE attempts[${request.attempt - 1}], leaseExpiresAt, claimId`,
      ConditionExpression: '#state = :processing AND attemptCount = :attempt AND leaseExpiresAt <= :now',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':cancelled': TaskState.cancelled,
        ':processing': TaskState.processing,
        ':attempt': request.attempt,
        ':previous': request.attempt - 1,
        ':now': request.now,
      },
    });
  }

  /** Re-opens a task that failed for good, conditioned on the tries it had when it was read. */
  async reopenTask(jobId: string, index: number, now: number): Promise<TaskRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: pk(jobId), sk: taskSk(index) },
        ConsistentRead: true,
      }),
    );
    const reopened = applyReopen(Item && toTask(Item), now);
    if (reopened === undefined) return undefined;
    const updated = await this.#conditionally(jobId, index, {
      UpdateExpression: 'SET #state = :retrying, rerunFrom = :tries, updatedAt = :now REMOVE #error',
      ConditionExpression: '#state = :failed AND attemptCount = :tries',
      ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
      ExpressionAttributeValues: {
        ':retrying': TaskState.retrying,
        ':failed': TaskState.failed,
        ':tries': reopened.rerunFrom,
        ':now': now,
      },
    });
    return updated ? reopened : undefined;
  }

  async #conditionally(
    jobId: string,
    index: number,
    update: Pick<UpdateCommand['input'], 'UpdateExpression' | 'ConditionExpression'> & {
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Item;
    },
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({ TableName: this.#table, Key: { pk: pk(jobId), sk: taskSk(index) }, ...update }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
