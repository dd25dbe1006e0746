import { createHash } from 'node:crypto';
import type { JobView } from '../../core/job.ts';
import { EndpointError, errorFromResponse, errorFromTransport } from './errors.ts';

/** A request about to be sent, as a signer sees it: `headers` in lower case, without `host`. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** The hex SHA-256 of the body (of the empty body when there is none). */
  bodySha256: string;
}

/** Gives the headers a request is sent with once signed (`authorization` and what it covers). */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>>;

/** The answer of `POST /jobs`: 202 for a new job, 200 with the job's view when an idempotency key repeats. */
export interface Submitted {
  jobId: string;
  status: string;
  statusUrl?: string;
  resultUrl?: string;
}

export interface JobPage {
  jobs: JobView[];
  nextCursor: string | null;
}

export interface Retried {
  jobId: string;
  chunksRetried: number;
  statusUrl?: string;
}

/** A body to send: bytes, or a file read as it is sent, with the SHA-256 a signature needs. */
export interface Body {
  data: Blob;
  contentType: string;
  sha256: string;
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** Query parameters that are set, as text. */
const queryOf = (params: Record<string, string | number | undefined>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(params)
      .filter(([, value]) => value !== undefined && value !== '')
      .map(([name, value]) => [name, String(value)]),
  );

/**
 * A client of the HTTP API of any endpoint: `fanout serve`, emulator mode or the deployed API
 * (docs/http-api.md). Each method is one request; an answer other than the one the contract promises
 * is an `EndpointError` carrying the problem document, and a request that gets no answer is one with
 * status 0. With a `signer`, every request is signed (SigV4 for an API with IAM authorization).
 */
export class EndpointClient {
  readonly endpoint: URL;
  readonly #signer: RequestSigner | undefined;

  constructor(endpoint: string, signer?: RequestSigner) {
    // A base with a path (an API Gateway stage, a proxy prefix) keeps it: paths are resolved below it.
    this.endpoint = new URL(endpoint.endsWith('/') ? endpoint : `${endpoint}/`);
    this.#signer = signer;
  }

  /** `POST /jobs` with `body`; `options` are the job's query options (`pipeline`, `chunkSize`, …). */
  async submit(body: Body, options: Record<string, string>, idempotencyKey?: string): Promise<Submitted> {
    const headers: Record<string, string> = { 'content-type': body.contentType };
    if (idempotencyKey !== undefined) headers['idempotency-key'] = `"${idempotencyKey}"`;
    const response = await this.#send('POST', 'jobs', options, headers, body);
    return (await response.json()) as Submitted;
  }

  /** `GET /jobs/{id}`; with `waitSeconds`, a long poll that the endpoint may hold until the job changes. */
  async getJob(jobId: string, waitSeconds?: number): Promise<JobView> {
    const response = await this.#send('GET', this.#job(jobId), queryOf({ wait: waitSeconds }));
    return (await response.json()) as JobView;
  }

  /** `GET /jobs`, newest first. */
  async listJobs(query: { status?: string; limit?: number; cursor?: string }): Promise<JobPage> {
    const response = await this.#send('GET', 'jobs', queryOf(query));
    return (await response.json()) as JobPage;
  }

  /** `DELETE /jobs/{id}`: cancels the job; its view as the cancel left it. */
  async cancel(jobId: string): Promise<JobView> {
    return (await (await this.#send('DELETE', this.#job(jobId))).json()) as JobView;
  }

  /** `POST /jobs/{id}/retry`: runs the job's failed chunks again. */
  async retry(jobId: string): Promise<Retried> {
    return (await (await this.#send('POST', `${this.#job(jobId)}/retry`)).json()) as Retried;
  }

  /** `GET /jobs/{id}/result`: the answer, its body not read yet. */
  result(jobId: string): Promise<Response> {
    return this.#send('GET', `${this.#job(jobId)}/result`);
  }

  /** `GET /jobs/{id}/rejects`: the records a job's `check` steps took out, as NDJSON. */
  rejects(jobId: string): Promise<Response> {
    return this.#send('GET', `${this.#job(jobId)}/rejects`);
  }

  /**
   * `GET /jobs/{id}/events` as a Server-Sent Events stream, resumed after `lastEventId`; undefined when
   * the endpoint serves no events (404 without `unknown-job`, 405, 406, 501, or not an event stream).
   */
  async events(jobId: string, lastEventId?: string): Promise<Response | undefined> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    try {
      const response = await this.#send('GET', `${this.#job(jobId)}/events`, {}, headers);
      if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return response;
      await response.body?.cancel();
      return undefined;
    } catch (error) {
      const served = error instanceof EndpointError && error.slug === 'unknown-job';
      if (error instanceof EndpointError && !served && [404, 405, 406, 501].includes(error.status))
        return undefined;
      throw error;
    }
  }

  #job(jobId: string): string {
    return `jobs/${encodeURIComponent(jobId)}`;
  }

  async #send(
    method: string,
    path: string,
    query: Record<string, string> = {},
    headers: Record<string, string> = {},
    body?: Body,
  ): Promise<Response> {
    const url = new URL(path, this.endpoint);
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    const signed = this.#signer
      ? await this.#signer({ method, url, headers, bodySha256: body?.sha256 ?? EMPTY_SHA256 })
      : headers;
    // fetch sets Host itself, from the URL, as the signature expects.
    const { host: _host, ...sent } = signed;
    let response: Response;
    try {
      response = await fetch(url, { method, headers: sent, ...(body && { body: body.data }) });
    } catch (error) {
      throw errorFromTransport(url, error);
    }
    if (response.status >= 200 && response.status < 300) return response;
    throw await errorFromResponse(method, url, response);
  }
}
