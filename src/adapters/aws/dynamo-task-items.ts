import { TaskState } from '../../core/constants.ts';
import type { Attempt, ClaimAndFinishRequest, ClaimRequest, TaskRecord } from '../../core/task.ts';
import type { JobRecord } from '../../ports/task-store.ts';

/**
 * How jobs and tasks lie in the table (`pk` = JOB#id; `sk` = JOB or TASK#index, zero-padded so that a
 * query returns tasks in index order), and the update expressions the task store's conditional writes use.
 */
export const JOB_SK = 'JOB';
/** DynamoDB's limit of items in one transaction. */
export const TRANSACTION_ITEMS = 100;

/**
 * The global secondary index over job items that lists jobs newest first: every job item carries the same
 * `listPk` and a `listSk` that sorts by creation. The deploy creates it from this definition.
 */
export const JOBS_INDEX = { name: 'jobs-by-created', partitionKey: 'listPk', sortKey: 'listSk' } as const;
export const JOBS_LIST_PK = 'JOBS';

/** The job item's place in the jobs index. */
export const jobListKeys = (job: { jobId: string; createdAt: number }) => ({
  [JOBS_INDEX.partitionKey]: JOBS_LIST_PK,
  [JOBS_INDEX.sortKey]: `${String(job.createdAt).padStart(15, '0')}#${job.jobId}`,
});

export const pk = (jobId: string): string => `JOB#${jobId}`;
export const taskSk = (index: number): string => `TASK#${String(index).padStart(10, '0')}`;

export type Item = Record<string, unknown>;

/** The table's bookkeeping attributes, which are not part of a task record. */
export const toTask = ({
  pk: _pk,
  sk: _sk,
  attemptCount: _count,
  claimId: _claim,
  expiresAt: _expires,
  ...task
}: Item): TaskRecord => task as unknown as TaskRecord;

export const toJob = ({
  pk: _pk,
  sk: _sk,
  expiresAt: _expires,
  listPk: _listPk,
  listSk: _listSk,
  ...job
}: Item): JobRecord => job as unknown as JobRecord;

/** The claim's condition: the task waits for try `attempt` (try 1 may find no item). */
export const waitsFor = (attempt: number): string =>
  `${attempt === 1 ? 'attribute_not_exists(pk) OR ' : 'attribute_exists(pk) AND '}(#state IN (:pending, :retrying) AND attemptCount = :previous)`;

/** An update expression's SET clauses with the names and values they use. */
export class ItemUpdate {
  readonly #sets: string[] = [];
  readonly #values: Item;
  readonly #names: Record<string, string>;

  constructor(values: Item, names: Record<string, string> = {}) {
    this.#values = { ...values };
    this.#names = { '#state': 'state', ...names };
  }

  set(...clauses: string[]): void {
    this.#sets.push(...clauses);
  }

  /** A clause with the values and names only it uses. */
  add(clause: string, values: Item, names: Record<string, string> = {}): void {
    this.#sets.push(clause);
    Object.assign(this.#values, values);
    Object.assign(this.#names, names);
  }

  expression(): string {
    return `SET ${this.#sets.join(', ')}`;
  }

  attributes() {
    return { ExpressionAttributeNames: this.#names, ExpressionAttributeValues: this.#values };
  }
}

/**
 * What a claim and a try recorded whole both write on a task that waits for the try (see `waitsFor`):
 * the try appended to its history, and the chunk as ingested, since try 1 creates the item (ingest on the
 * cloud path records the job, not each task). `now` is the write's time; the caller sets the state.
 */
export const recordingTry = (
  request: ClaimAndFinishRequest | ClaimRequest,
  tried: Attempt,
  now: number,
): ItemUpdate => {
  const update = new ItemUpdate(
    {
      ':none': [],
      ':tries': [tried],
      ':attempt': request.attempt,
      ':claimId': request.claimId,
      ':now': now,
      ':jobId': request.jobId,
      ':index': request.index,
      ':bytes': request.bytes,
      ':sha256': request.sha256,
      ':pending': TaskState.pending,
      ':retrying': TaskState.retrying,
      ':previous': request.attempt - 1,
    },
    { '#index': 'index', '#bytes': 'bytes' },
  );
  update.set(
    'attempts = list_append(if_not_exists(attempts, :none), :tries)',
    'attemptCount = :attempt',
    'claimId = :claimId',
    'updatedAt = :now',
    'jobId = :jobId',
    '#index = :index',
    '#bytes = :bytes',
    'sha256 = :sha256',
  );
  return update;
};
