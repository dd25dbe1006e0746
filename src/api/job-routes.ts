import { jobRequestFrom } from '../config/job.ts';
import type { Config } from '../config/schema.ts';
import { JobStatus, TaskState } from '../core/constants.ts';
import { PermanentError } from '../core/errors.ts';
import type { JobRequest, JobView } from '../core/job.ts';
import { fanInOf } from '../core/pipeline/fan-in.ts';
import type { JobService } from '../ports/job-service.ts';
import { primed } from '../util/bytes.ts';
import { type ApiRequest, type ApiResponse, problem } from '../util/http.ts';
import { BodyTooLargeError, bodyTooLarge } from './errors.ts';
import {
  accepted,
  idempotencyKeyOf,
  type KeyClaim,
  requestFingerprint,
  type Started,
  startIdempotently,
} from './idempotency.ts';
import { JobOperations, unknownJob } from './job-operations.ts';
import { JobTasks } from './job-tasks.ts';
import { JobWatching, type JobWatchingOptions } from './job-watching.ts';
import { JsonJobs } from './json-jobs.ts';
import type { Route } from './route.ts';
import { fileSha256, type Spooled, spoolBody } from './spool.ts';

const INPUT_TYPES = ['text/plain', 'application/x-ndjson', 'application/octet-stream'] as const;
const COMPRESSED_TYPES: Record<string, string> = {
  gzip: 'application/gzip',
  deflate: 'application/zlib',
  brotli: 'application/x-brotli',
};
/** A calculation's result: one JSON object, or the records sorted. */
const FAN_IN_TYPES = { reduce: 'application/json', sort: 'application/x-ndjson' } as const;

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

export interface JobRoutesOptions extends JobWatchingOptions {
  maxBodyBytes: number;
  /** Jobs still reading their input before a new one is turned away with 503. */
  maxIngestingJobs: number;
}

/** `/jobs` and what lies under it: submitting a job, and reading its status, tasks, timeline and result. */
export class JobRoutes {
  readonly #service: JobService;
  readonly #config: Config;
  readonly #options: JobRoutesOptions;
  readonly #json: JsonJobs;
  readonly #operations: JobOperations;
  readonly #watching: JobWatching;
  readonly #tasks: JobTasks;
  #ingesting = 0;

  constructor(service: JobService, config: Config, options: JobRoutesOptions) {
    this.#service = service;
    this.#operations = new JobOperations(service);
    this.#watching = new JobWatching(service, options);
    this.#tasks = new JobTasks(service);
    this.#config = config;
    this.#options = options;
    this.#json = new JsonJobs(service, config);
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
      { pattern: /^\/jobs\/([^/]+)\/tasks\/?$/, methods: { GET: (req, id) => this.#tasks.tasks(req, id) } },
      { pattern: /^\/jobs\/([^/]+)\/timeline\/?$/, methods: { GET: (_, id) => this.#tasks.timeline(id) } },
    ];
  }

  async #createJob(req: ApiRequest): Promise<ApiResponse> {
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const key = idempotencyKeyOf(req);
    if (mediaType === 'application/json') return this.#json.create(req, key);
    if (!(INPUT_TYPES as readonly string[]).includes(mediaType)) {
      const accepted = [...INPUT_TYPES, `application/json ${this.#json.bodies()}`];
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
    if (declared > this.#options.maxBodyBytes)
      return bodyTooLarge(this.#options.maxBodyBytes, 'raise server.max_body_bytes or split the input');
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
      if (error instanceof BodyTooLargeError)
        return bodyTooLarge(this.#options.maxBodyBytes, 'raise server.max_body_bytes or split the input');
      throw error;
    } finally {
      if (!handedOver) {
        this.#ingesting--;
        await spooled?.remove();
      }
    }
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
    let body = this.#service.readResult(id);
    if (fanIn?.kind === 'reduce') {
      // Reduced before the answer starts: partials that cannot be combined are a 422, not a cut stream.
      try {
        body = await primed(body);
      } catch (error) {
        if (!(error instanceof PermanentError)) throw error;
        return problem(
          422,
          'result-not-combined',
          'Result not combined',
          `job ${id}'s result: ${error.message}`,
        );
      }
    }
    return {
      status: 200,
      headers: { 'content-type': type },
      body,
      ...(job?.outputsAt !== undefined &&
        fanIn === undefined && {
          elsewhere: `job ${id}'s chunk outputs lie under ${job.outputsAt}, one object per stored batch: the result is the outputs of its tasks in index order, and each completed task's result ref in GET /jobs/${id}/tasks (object:offset:length) says where its output is`,
        }),
    };
  }

  async #retryAfterSeconds(): Promise<number> {
    const rate = (await this.#service.stats()).throughput.chunksPerSecond;
    return rate > 0 ? Math.min(60, Math.max(1, Math.ceil(this.#service.pendingChunks / rate))) : 5;
  }
}
