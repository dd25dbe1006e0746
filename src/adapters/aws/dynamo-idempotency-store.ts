import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '../../core/chunker.ts';
import { holdsKey, type IdempotencyRecord } from '../../core/idempotency.ts';
import type { IdempotencyStore } from '../../ports/idempotency-store.ts';

const KEY_SK = 'KEY';
/** Keys are the client's, up to 255 characters: the item is found by their digest. */
const keyPk = (key: string): string => `IDEM#${sha256Hex(new TextEncoder().encode(key))}`;
/** A claim refused by a record that no longer holds the key when read (its lease ran out, a release) tries again. */
const CLAIM_TRIES = 3;

const isConditionFailure = (error: unknown): boolean => error instanceof ConditionalCheckFailedException;

/**
 * Idempotency keys in the task table: one item per key (`pk` = IDEM#sha256(key), `sk` = KEY) whose TTL
 * attribute `expiresAt` (epoch seconds) ends its window. Claims are conditional puts; an item past its
 * window that TTL has not deleted yet counts as gone.
 */
export class DynamoIdempotencyStore implements IdempotencyStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async claim(candidate: IdempotencyRecord, now: number): Promise<IdempotencyRecord> {
    for (let tries = 1; ; tries++) {
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              pk: keyPk(candidate.key),
              sk: KEY_SK,
              ...candidate,
              // The TTL attribute is in seconds; the record keeps its own time in ms.
              expiresAt: Math.ceil(candidate.expiresAt / 1000),
              windowEndsAt: candidate.expiresAt,
            },
            ConditionExpression:
              'attribute_not_exists(pk) OR expiresAt <= :nowSeconds OR (attribute_not_exists(jobId) AND leaseUntil <= :now)',
            ExpressionAttributeValues: { ':now': now, ':nowSeconds': Math.floor(now / 1000) },
          }),
        );
        return { ...candidate };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const held = await this.#get(candidate.key);
      if ((held !== undefined && holdsKey(held, now)) || tries === CLAIM_TRIES)
        return held ?? { ...candidate, owner: '' };
    }
  }

  async complete(key: string, owner: string, jobId: string): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: keyPk(key), sk: KEY_SK },
          UpdateExpression: 'SET jobId = :jobId',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':jobId': jobId, ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async release(key: string, owner: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: keyPk(key), sk: KEY_SK },
          ConditionExpression: '#owner = :owner AND attribute_not_exists(jobId)',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async #get(key: string): Promise<IdempotencyRecord | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { pk: keyPk(key), sk: KEY_SK }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _ttl, windowEndsAt, ...record } = Item;
    return { ...(record as Omit<IdempotencyRecord, 'expiresAt'>), expiresAt: windowEndsAt as number };
  }
}
