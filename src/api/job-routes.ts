import { z } from 'zod';
import { jobRequestFrom } from '../config/job.ts';
import type { Config } from '../config/schema.ts';
import { sha256Hex } from '../core/chunker.ts';
import { JobStatus, TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { JobRequest, JobView } from '../core/job.ts';
import { fanInOf } from '../core/pipeline/fan-in.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, json, problem } from '../util/http.ts';
import { BodyTooLargeError } from './errors.ts';
import {
  idempotencyKeyOf,
  type KeyClaim,
  requestFingerprint,
  type Started,
  startIdempotently,
} from './idempotency.ts';
import { JobOperations, unknownJob } from './job-operations.ts';
import { JobWatching, type JobWatchingOptions } from './job-watching.ts';
import type { Route } from './route.ts';
import { fileSha256, limited, type Spooled, spoolBody } from './spool.ts';
import { WorkerMessage, workerJob } from './worker-message.ts';

const INPUT_TYPES = ['text/plain', 'application/x-ndjson', 'application/octet-stream'] as const;
const COMPRESSED_TYPES: Record<string, string> = {
  gzip: 'application/gzip',
  deflate: 'application/zlib',
  brotli: 'application/x-brotli',
};
/** A calculation's result: one JSON object, or the records sorted. */
const FAN_IN_TYPES = { reduce: 'application/json', sort: 'application/x-ndjson' } as const;
const TASK_STATES = Object.values(TaskState) as string[];

const isRunning = (view: JobView): boolean =>
  view.status === JobStatus.ingesting ||
  view.status === JobStatus.queued ||
  view.status === JobStatus.processing;

const stillRunning = (view: JobView): ApiResponse =>
  problem(
    409,
    'job-running',
    'Job still running',
    `job ${view.jobId} is ${view.status}, ${view.percentComplete}% complete`,
    {
      jobStatus: view.status,
    },
  );

/** The body of `POST /jobs` that names its input instead of carrying it. */
const SourceBody = z.strictObject({
  source: z.string().regex(/^s3:\/\/[^/]+\/.+/, 'an s3://bucket/key URI'),
});
/** A JSON body names an input or carries a worker message: never a data set of its own. */
const MAX_JSON_BODY_BYTES = 1024 * 1024;

async function* toAsync(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* pieces;
}

export interface JobRoutesOptions extends JobWatchingOptions {
  maxBodyBytes: number;
  /** Jobs still reading their input before a new one is turned away with 503. */
  maxIngestingJobs: number;
}

/** `/jobs` and what lies under it: submitting a job, and reading its status, tasks and result. */
export class JobRoutes {
  readonly #service: JobService;
  readonly #config: Config;
  readonly #options: JobRoutesOptions;
  readonly #operations: JobOperations;
  readonly #watching: JobWatching;
  #ingesting = 0;

  constructor(service: JobService, config: Config, options: JobRoutesOptions) {
    this.#service = service;
    this.#operations = new JobOperations(service);
    this.#watching = new JobWatching(service, options);
    this.#config = config;
    this.#options = options;
  }

  routes(): Route[] {
    return [
      {
        pattern: /^\/jobs\/?$/,
        methods: { POST: (req) => this.#createJob(req), GET: (req) => this.#operations.list(req) },
      },
      {
        pattern: /^\/jobs\/([^/]+)\/?$/,
        methods: {
          GET: (req, id) => this.#watching.view(req, id),
          DELETE: (_, id) => this.#operations.cancel(id),
        },
      },
      { pattern: /^\/jobs\/([^/]+)\/retry\/?$/, methods: { POST: (_, id) => this.#operations.retry(id) } },
      {
        pattern: /^\/jobs\/([^/]+)\/events\/?$/,
        methods: { GET: (req, id) => this.#watching.events(req, id) },
      },
      { pattern: /^\/jobs\/([^/]+)\/result\/?$/, methods: { GET: (_, id) => this.#getResult(id) } },
      { pattern: /^\/jobs\/([^/]+)\/rejects\/?$/, methods: { GET: (_, id) => this.#getRejects(id) } },
      { pattern: /^\/jobs\/([^/]+)\/tasks\/?$/, methods: { GET: (req, id) => this.#getTasks(req, id) } },
    ];
  }

  async #createJob(req: ApiRequest): Promise<ApiResponse> {
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const key = idempotencyKeyOf(req);
    if (mediaType === 'application/json') return this.#createJobFromJson(req, key);
    if (!(INPUT_TYPES as readonly string[]).includes(mediaType)) {
      const accepted = [...INPUT_TYPES, `application/json ${this.#jsonBodies()}`];
      return problem(
        415,
        'unsupported-media-type',
        'Unsupported media type',
        `Content-Type ${mediaType || '(none)'} is not accepted; send one of ${accepted.join(', ')}`,
      );
    }
    const request: JobRequest = {
      ...jobRequestFrom(this.#config, Object.fromEntries(req.query)),
      contentType: mediaType,
    };
    this.#service.prepare(request);
    const declared = Number(req.headers['content-length']);
    if (declared > this.#options.maxBodyBytes) return this.#tooLarge();
    if (this.#ingesting >= this.#options.maxIngestingJobs) {
      return problem(
        503,
        'busy',
        'Busy',
        `${this.#ingesting} jobs are still reading their input; try again shortly`,
        {},
        {
          'retry-after': String(await this.#retryAfterSeconds()),
        },
      );
    }
    // A job counts from the first byte of its upload until its last chunk is enqueued.
    this.#ingesting++;
    let spooled: Spooled | undefined;
    let handedOver = false;
    try {
      spooled = await spoolBody(req.body, this.#options.maxBodyBytes);
      if (spooled.bytes === 0) {
        return problem(
          400,
          'empty-body',
          'Empty body',
          'the request body is empty; send the data to process',
        );
      }
      const body = spooled;
      const start = async (claim?: KeyClaim): Promise<Started> => {
        const handle = await this.#service.submit(
          { path: body.path },
          request,
          claim && { idempotency: claim },
        );
        handedOver = true;
        handle.ingested
          .finally(() => {
            this.#ingesting--;
            return body.remove();
          })
          .catch(() => {});
        return accepted(handle.jobId);
      };
      if (key === undefined) return (await start()).response;
      const fingerprint = requestFingerprint(req, mediaType, await fileSha256(body.path));
      return await startIdempotently(this.#service, key, fingerprint, start);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return this.#tooLarge();
      throw error;
    } finally {
      if (!handedOver) {
        this.#ingesting--;
        await spooled?.remove();
      }
    }
  }

  /** What a JSON body of `POST /jobs` may be here, in words. */
  #jsonBodies(): string {
    const worker = '{"id", "type", "payload"} (a worker message)';
    return this.#service.submitSource ? `${worker} or {"source": "s3://…"}` : worker;
  }

  /** A job from a JSON body: a worker message, or (where the service reads objects) an input's name. */
  async #createJobFromJson(req: ApiRequest, key: string | undefined): Promise<ApiResponse> {
    const pieces: Uint8Array[] = [];
    try {
      for await (const piece of limited(req.body, MAX_JSON_BODY_BYTES)) pieces.push(piece);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return this.#tooLarge(MAX_JSON_BODY_BYTES);
      throw error;
    }
    const bytes = Buffer.concat(pieces);
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new UsageError(`the body is not JSON; send ${this.#jsonBodies()}`);
    }
    const fingerprint = requestFingerprint(req, 'application/json', sha256Hex(bytes));
    if (typeof body === 'object' && body !== null && 'type' in body)
      return this.#createWorkerJob(req, key, body, fingerprint);
    if (!this.#service.submitSource) throw new UsageError(`send ${this.#jsonBodies()}`);
    return this.#createJobFromSource(req, key, body, fingerprint);
  }

  /** A worker message's job: one record, through the step its type names (see worker-message.ts). */
  async #createWorkerJob(
    req: ApiRequest,
    key: string | undefined,
    body: object,
    fingerprint: string,
  ): Promise<ApiResponse> {
    const parsed = WorkerMessage.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`worker message ${issue?.path.join('.') || 'body'}: ${issue?.message}`);
    }
    const job = workerJob(parsed.data);
    const query = { ...Object.fromEntries(req.query), pipeline: job.pipeline };
    const request: JobRequest = {
      ...jobRequestFrom(this.#config, query),
      contentType: 'application/x-ndjson',
    };
    this.#service.prepare(request);
    const input = [new TextEncoder().encode(`${JSON.stringify(job.record)}\n`)];
    const start = async (claim?: KeyClaim): Promise<Started> =>
      accepted((await this.#service.submit(toAsync(input), request, claim && { idempotency: claim })).jobId);
    // The id is a key as it is written: not a header's text, whose quotes and token rules it need not follow.
    const idempotencyKey = key ?? parsed.data.id;
    if (idempotencyKey === undefined) return (await start()).response;
    return startIdempotently(this.#service, idempotencyKey, fingerprint, start);
  }

  /** A job whose input is an object the service reads itself. */
  async #createJobFromSource(
    req: ApiRequest,
    key: string | undefined,
    body: unknown,
    fingerprint: string,
  ): Promise<ApiResponse> {
    const request = jobRequestFrom(this.#config, Object.fromEntries(req.query));
    this.#service.prepare(request);
    const parsed = SourceBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(
        `body ${issue?.path.join('.') || ''}: ${issue?.message}; send {"source": "s3://bucket/key"}`,
      );
    }
    const service = this.#service as Required<Pick<JobService, 'submitSource'>>;
    const start = async (): Promise<Started> =>
      accepted((await service.submitSource(parsed.data.source, request)).jobId);
    if (key === undefined) return (await start()).response;
    return startIdempotently(this.#service, key, fingerprint, start);
  }

  /** A job's rejects once it has ended: those of its completed chunks, whatever became of the others. */
  async #getRejects(id: string): Promise<ApiResponse> {
    const view = await this.#service.getJob(id);
    if (!view) return unknownJob(id);
    if (isRunning(view)) return stillRunning(view);
    return {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson' },
      body: this.#service.readRejects(id),
    };
  }

  async #getResult(id: string): Promise<ApiResponse> {
    const view = await this.#service.getJob(id);
    if (!view) return unknownJob(id);
    if (isRunning(view)) return stillRunning(view);
    if (view.status === JobStatus.cancelled) {
      return problem(
        409,
        'job-cancelled',
        'Job cancelled',
        `job ${id} was cancelled, so its result is incomplete: ${view.chunksCompleted} chunks completed, ${view.chunksFailed} failed, ${view.chunksCancelled} cancelled`,
        {
          jobStatus: view.status,
          chunksCompleted: view.chunksCompleted,
          chunksFailed: view.chunksFailed,
          chunksCancelled: view.chunksCancelled,
        },
      );
    }
    if (view.error !== undefined) {
      return problem(
        409,
        'job-failed',
        'Job failed',
        `job ${id} failed, so it has no result: ${view.error}`,
        {
          jobStatus: view.status,
        },
      );
    }
    if (view.chunksFailed > 0) {
      const failed = (await this.#service.listTasks(id, TaskState.failed)) ?? [];
      return problem(
        409,
        'job-failed-chunks',
        'Job has failed chunks',
        `job ${id} has ${failed.length} failed chunks, so its result is incomplete`,
        {
          failedChunks: failed.map((t) => t.index),
        },
      );
    }
    const job = await this.#service.describe(id);
    const fanIn = job && fanInOf(job.request.pipeline);
    const type = fanIn
      ? FAN_IN_TYPES[fanIn.kind]
      : job?.compression
        ? (COMPRESSED_TYPES[job.compression] ?? 'application/octet-stream')
        : (job?.request.contentType ?? 'application/octet-stream');
    return {
      status: 200,
      headers: { 'content-type': type },
      body: this.#service.readResult(id),
      ...(job?.outputsAt !== undefined && {
        elsewhere: `job ${id}'s chunk outputs lie under ${job.outputsAt}, one object per stored batch: the result is the outputs of its tasks in index order, and each completed task's result ref in GET /jobs/${id}/tasks (object:offset:length) says where its output is`,
      }),
    };
  }

  async #getTasks(req: ApiRequest, id: string): Promise<ApiResponse> {
    const status = req.query.get('status') ?? undefined;
    if (status !== undefined && !TASK_STATES.includes(status)) {
      throw new UsageError(`status must be one of ${TASK_STATES.join(', ')}, got "${status}"`);
    }
    const tasks = await this.#service.listTasks(id, status as TaskState | undefined);
    return tasks ? json(200, { jobId: id, tasks }) : unknownJob(id);
  }

  async #retryAfterSeconds(): Promise<number> {
    const rate = (await this.#service.stats()).throughput.chunksPerSecond;
    return rate > 0 ? Math.min(60, Math.max(1, Math.ceil(this.#service.pendingChunks / rate))) : 5;
  }

  #tooLarge(limit = this.#options.maxBodyBytes): ApiResponse {
    return problem(
      413,
      'body-too-large',
      'Body too large',
      `the body is larger than the limit of ${limit} bytes; raise server.max_body_bytes or split the input`,
    );
  }
}

/** The answer to a job started: its input is the service's, and it is being split and enqueued. */
const accepted = (jobId: string): Started => {
  const statusUrl = `/jobs/${jobId}`;
  return {
    jobId,
    response: json(
      202,
      { jobId, status: JobStatus.ingesting, chunksTotal: null, statusUrl, resultUrl: `${statusUrl}/result` },
      { location: statusUrl },
    ),
  };
};
