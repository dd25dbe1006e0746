import { z } from 'zod';
import { jobRequestFrom } from '../config/job.ts';
import type { Config } from '../config/schema.ts';
import { sha256Hex } from '../core/chunker.ts';
import { UsageError } from '../core/errors.ts';
import type { JobRequest } from '../core/job.ts';
import type { JobService } from '../ports/job-service.ts';
import type { ApiRequest, ApiResponse } from '../util/http.ts';
import { BodyTooLargeError, bodyTooLarge } from './errors.ts';
import {
  accepted,
  type KeyClaim,
  requestFingerprint,
  type Started,
  startIdempotently,
} from './idempotency.ts';
import { limited } from './spool.ts';
import { WorkerMessage, workerJob } from './worker-message.ts';

/** The body of `POST /jobs` that names its input instead of carrying it. */
const SourceBody = z.strictObject({
  source: z.string().regex(/^s3:\/\/[^/]+\/.+/, 'an s3://bucket/key URI'),
});
/** A JSON body names an input or carries a worker message: never a data set of its own. */
const MAX_JSON_BODY_BYTES = 1024 * 1024;

async function* toAsync(pieces: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* pieces;
}

/** `POST /jobs` with a JSON body: a worker message (see worker-message.ts), or the name of an input. */
export class JsonJobs {
  readonly #service: JobService;
  readonly #config: Config;

  constructor(service: JobService, config: Config) {
    this.#service = service;
    this.#config = config;
  }

  /** What a JSON body of `POST /jobs` may be here, in words. */
  bodies(): string {
    const worker = '{"id", "type", "payload"} (a worker message)';
    return this.#service.submitSource ? `${worker} or {"source": "s3://…"}` : worker;
  }

  /** A job from a JSON body: a worker message, or (where the service reads objects) an input's name. */
  async create(req: ApiRequest, key: string | undefined): Promise<ApiResponse> {
    const pieces: Uint8Array[] = [];
    try {
      for await (const piece of limited(req.body, MAX_JSON_BODY_BYTES)) pieces.push(piece);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        return bodyTooLarge(
          MAX_JSON_BODY_BYTES,
          'a JSON body names an input or carries one message: send data as NDJSON',
        );
      throw error;
    }
    const bytes = Buffer.concat(pieces);
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new UsageError(`the body is not JSON; send ${this.bodies()}`);
    }
    const fingerprint = requestFingerprint(req, 'application/json', sha256Hex(bytes));
    if (typeof body === 'object' && body !== null && 'type' in body)
      return this.#createWorkerJob(req, key, body, fingerprint);
    if (!this.#service.submitSource) throw new UsageError(`send ${this.bodies()}`);
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
    if (req.query.has('pipeline'))
      throw new UsageError('a worker message names its own step: send it without ?pipeline=');
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
}
