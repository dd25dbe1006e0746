import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { jobRequestFrom } from '../config/job.ts';
import type { Config } from '../config/schema.ts';
import { countChunks } from '../core/chunker.ts';
import { TaskState } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { JobRequest } from '../core/job.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, json, problem } from '../util/http.ts';
import { BodyTooLargeError, limited, type Spooled, spoolBody } from './spool.ts';

export const INPUT_TYPES = ['text/plain', 'application/x-ndjson', 'application/octet-stream'] as const;
const COMPRESSED_TYPES: Record<string, string> = {
  gzip: 'application/gzip',
  deflate: 'application/zlib',
  brotli: 'application/x-brotli',
};
const TASK_STATES = Object.values(TaskState) as string[];

const decodePathPart = (part: string): string => {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`${part} in the path is not valid percent-encoding`);
  }
};

type Route = {
  pattern: RegExp;
  methods: Record<string, (req: ApiRequest, id: string) => Promise<ApiResponse>>;
};

/** The body of `POST /jobs` that names its input instead of carrying it. */
const SourceBody = z.strictObject({
  source: z.string().regex(/^s3:\/\/[^/]+\/.+/, 'an s3://bucket/key URI'),
});
const MAX_SOURCE_BODY_BYTES = 64 * 1024;

export interface JobsApiOptions {
  maxBodyBytes: number;
  /** Jobs still reading their input before a new one is turned away with 503. */
  maxIngestingJobs: number;
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

/**
 * The HTTP contract of Fanout, free of any server: the local server and the ingest function both hand
 * requests to it. Every error is a problem document that names what was wrong.
 */
export class JobsApi {
  readonly #engine: JobService;
  readonly #config: Config;
  readonly #options: JobsApiOptions;
  readonly #routes: Route[];
  #ingesting = 0;

  constructor(engine: JobService, config: Config, options: JobsApiOptions) {
    this.#engine = engine;
    this.#config = config;
    this.#options = options;
    this.#routes = [
      { pattern: /^\/jobs\/?$/, methods: { POST: (req) => this.#createJob(req) } },
      { pattern: /^\/jobs\/([^/]+)\/?$/, methods: { GET: (_, id) => this.#getJob(id) } },
      { pattern: /^\/jobs\/([^/]+)\/result\/?$/, methods: { GET: (_, id) => this.#getResult(id) } },
      { pattern: /^\/jobs\/([^/]+)\/tasks\/?$/, methods: { GET: (req, id) => this.#getTasks(req, id) } },
      { pattern: /^\/stats\/?$/, methods: { GET: async () => json(200, await this.#engine.stats()) } },
      { pattern: /^\/health\/?$/, methods: { GET: () => this.#health() } },
      { pattern: /^\/metrics\/?$/, methods: { GET: async () => this.#metrics() } },
    ];
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    for (const route of this.#routes) {
      const match = route.pattern.exec(req.path);
      if (!match) continue;
      const handler = route.methods[req.method];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        return problem(
          405,
          'method-not-allowed',
          'Method not allowed',
          `${req.method} is not allowed on ${req.path}; use ${allow}`,
          {},
          { allow },
        );
      }
      try {
        return await handler(req, decodePathPart(match[1] ?? ''));
      } catch (error) {
        if (error instanceof UsageError) return problem(400, 'bad-request', 'Bad request', error.message);
        throw error;
      }
    }
    return problem(404, 'not-found', 'Not found', `no resource at ${req.path}`);
  }

  async #createJob(req: ApiRequest): Promise<ApiResponse> {
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (mediaType === 'application/json' && this.#engine.openSource) return this.#createJobFromSource(req);
    if (!(INPUT_TYPES as readonly string[]).includes(mediaType)) {
      const accepted = [
        ...INPUT_TYPES,
        ...(this.#engine.openSource ? ['application/json {"source": "s3://…"}'] : []),
      ];
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
    this.#engine.prepare(request);
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
      const chunksTotal = await countChunks(createReadStream(spooled.path), request.chunking);
      const handle = await this.#engine.submit(
        createReadStream(spooled.path, { highWaterMark: 1 << 20 }),
        request,
      );
      handedOver = true;
      const accepted = spooled;
      handle.ingested
        .finally(() => {
          this.#ingesting--;
          return accepted.remove();
        })
        .catch(() => {});
      return this.#accepted(handle.jobId, chunksTotal);
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

  /** A job whose input is an object the service reads itself; it answers once the input is enqueued. */
  async #createJobFromSource(req: ApiRequest): Promise<ApiResponse> {
    const request = jobRequestFrom(this.#config, Object.fromEntries(req.query));
    this.#engine.prepare(request);
    const pieces: Uint8Array[] = [];
    try {
      for await (const piece of limited(req.body, MAX_SOURCE_BODY_BYTES)) pieces.push(piece);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return this.#tooLarge(MAX_SOURCE_BODY_BYTES);
      throw error;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(pieces).toString('utf8'));
    } catch {
      throw new UsageError('the body is not JSON; send {"source": "s3://bucket/key"}');
    }
    const parsed = SourceBody.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(
        `body ${issue?.path.join('.') || ''}: ${issue?.message}; send {"source": "s3://bucket/key"}`,
      );
    }
    const source = await (this.#engine.openSource as NonNullable<JobService['openSource']>)(
      parsed.data.source,
    );
    const handle = await this.#engine.submit(source, request);
    const chunksTotal = await handle.ingested;
    if (chunksTotal === 0)
      throw new UsageError(`${parsed.data.source} is empty; there is nothing to process`);
    return this.#accepted(handle.jobId, chunksTotal);
  }

  #accepted(jobId: string, chunksTotal: number): ApiResponse {
    const statusUrl = `/jobs/${jobId}`;
    return json(
      202,
      { jobId, status: 'queued', chunksTotal, statusUrl, resultUrl: `${statusUrl}/result` },
      { location: statusUrl },
    );
  }

  async #getJob(id: string): Promise<ApiResponse> {
    const view = await this.#engine.getJob(id);
    return view ? json(200, view) : this.#unknownJob(id);
  }

  async #getResult(id: string): Promise<ApiResponse> {
    const view = await this.#engine.getJob(id);
    if (!view) return this.#unknownJob(id);
    if (view.status === 'queued' || view.status === 'processing') {
      return problem(
        409,
        'job-running',
        'Job still running',
        `job ${id} is ${view.status}, ${view.percentComplete}% complete`,
        {
          jobStatus: view.status,
        },
      );
    }
    if (view.chunksFailed > 0) {
      const failed = (await this.#engine.listTasks(id, TaskState.failed)) ?? [];
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
    return {
      status: 200,
      headers: { 'content-type': await this.#resultType(id) },
      body: this.#engine.readResult(id),
    };
  }

  async #getTasks(req: ApiRequest, id: string): Promise<ApiResponse> {
    const status = req.query.get('status') ?? undefined;
    if (status !== undefined && !TASK_STATES.includes(status)) {
      throw new UsageError(`status must be one of ${TASK_STATES.join(', ')}, got "${status}"`);
    }
    const tasks = await this.#engine.listTasks(id, status as TaskState | undefined);
    return tasks ? json(200, { jobId: id, tasks }) : this.#unknownJob(id);
  }

  async #health(): Promise<ApiResponse> {
    return json(200, { status: 'ok', targets: (await this.#engine.stats()).targets });
  }

  async #metrics(): Promise<ApiResponse> {
    if (!this.#options.metrics) return problem(404, 'not-found', 'Not found', 'metrics are not enabled here');
    const { contentType, body } = await this.#options.metrics();
    return { status: 200, headers: { 'content-type': contentType }, body };
  }

  async #resultType(id: string): Promise<string> {
    const job = await this.#engine.describe(id);
    if (job?.compression) return COMPRESSED_TYPES[job.compression] ?? 'application/octet-stream';
    return job?.request.contentType ?? 'application/octet-stream';
  }

  async #retryAfterSeconds(): Promise<number> {
    const rate = (await this.#engine.stats()).throughput.chunksPerSecond;
    return rate > 0 ? Math.min(60, Math.max(1, Math.ceil(this.#engine.pendingChunks / rate))) : 5;
  }

  #unknownJob(id: string): ApiResponse {
    return problem(404, 'unknown-job', 'Unknown job', `there is no job ${id}`);
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
