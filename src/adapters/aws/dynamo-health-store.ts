import { isDeepStrictEqual } from 'node:util';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BreakerSnapshot } from '../../core/breaker.ts';
import { FanoutError } from '../../core/errors.ts';
import type { HealthStore } from '../../ports/health-store.ts';

const HEALTH_PK = 'HEALTH';
const MAX_WRITE_ATTEMPTS = 5;

type Item = Record<string, unknown>;

/** Other writers kept changing a target's breaker between its read and its write, on every try. */
export class HealthContentionError extends FanoutError {
  constructor(target: string) {
    super(
      `the breaker of target ${target} kept changing under ${MAX_WRITE_ATTEMPTS} read-modify-write tries`,
    );
    this.name = 'HealthContentionError';
  }
}

const toSnapshot = ({ pk: _pk, sk: _sk, version: _version, ...snapshot }: Item): BreakerSnapshot =>
  snapshot as unknown as BreakerSnapshot;

/**
 * Breakers in the task table, one item per target (`HEALTH` / target name), changed by optimistic
 * read-modify-write on a version number. A function writes only when a breaker changes: a batch of
 * successes on a closed breaker writes nothing. The items carry no TTL: there is one per target.
 */
export class DynamoHealthStore implements HealthStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async read(): Promise<Map<string, BreakerSnapshot>> {
    const { Items = [] } = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': HEALTH_PK },
        ConsistentRead: true,
      }),
    );
    return new Map(Items.map((item) => [item.sk as string, toSnapshot(item)]));
  }

  async update(
    target: string,
    change: (current?: BreakerSnapshot) => BreakerSnapshot,
  ): Promise<BreakerSnapshot> {
    const key = { pk: HEALTH_PK, sk: target };
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const { Item } = await this.#client.send(
        new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }),
      );
      const current = Item === undefined ? undefined : toSnapshot(Item);
      const next = change(current);
      if (isDeepStrictEqual(next, current)) return next;
      const version = Number(Item?.version ?? 0);
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...key, ...next, version: version + 1 },
            ConditionExpression: Item === undefined ? 'attribute_not_exists(pk)' : 'version = :version',
            ...(Item !== undefined && { ExpressionAttributeValues: { ':version': version } }),
          }),
        );
        return next;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    throw new HealthContentionError(target);
  }
}
