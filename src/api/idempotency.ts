import { createHash, randomUUID } from 'node:crypto';
import { JobStatus } from '../core/constants.ts';
import { IDEMPOTENCY, idempotencyDecision, parseIdempotencyKey } from '../core/idempotency.ts';
import type { JobService } from '../ports/job-service.ts';
import { type ApiRequest, type ApiResponse, json, problem } from '../util/http.ts';

/** A job the API started, and its answer. */
export interface Started {
  jobId: string;
  response: ApiResponse;
}

/** The answer to a job started: its input is the service's, and it is being split and enqueued. */
export const accepted = (jobId: string): Started => {
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

/** The key of a request's `Idempotency-Key` header; a malformed one is a `UsageError` (400). */
export const idempotencyKeyOf = (req: ApiRequest): string | undefined =>
  parseIdempotencyKey(req.headers['idempotency-key']);

/**
 * What a request asked, as one digest: method, path, its query (in order of names, so that the same
 * options in another order ask the same), media type and the digest of its body.
 */
export const requestFingerprint = (req: ApiRequest, mediaType: string, bodySha256: string): string => {
  const query = [...req.query].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([req.method, req.path, query, mediaType, bodySha256]))
    .digest('hex');
};

/** The key a request holds while it starts its job: a service may bind it to the job as it records it. */
export type KeyClaim = { key: string; owner: string };

/**
 * `POST /jobs` with an `Idempotency-Key`: the first request with a key starts the job; a repeat with the
 * same fingerprint gets that job back (200, its view), one with another fingerprint 422, and one that
 * comes while the first is still storing its input 409. A request that fails frees its key; one that dies
 * holds it until its lease runs out (`IDEMPOTENCY.leaseMs`).
 */
export const startIdempotently = async (
  service: JobService,
  key: string,
  fingerprint: string,
  start: (claim: KeyClaim) => Promise<Started>,
  now: () => number = Date.now,
): Promise<ApiResponse> => {
  const owner = randomUUID();
  const at = now();
  const held = await service.idempotency.claim(
    { key, fingerprint, owner, leaseUntil: at + IDEMPOTENCY.leaseMs, expiresAt: at + IDEMPOTENCY.windowMs },
    at,
  );
  switch (idempotencyDecision(held, owner, fingerprint)) {
    case 'mismatch':
      return problem(
        422,
        'idempotency-key-reused',
        'Idempotency key reused',
        `Idempotency-Key "${key}" was first sent with another request (query, media type or body); use a new key for a new job`,
      );
    case 'in-progress':
      return problem(
        409,
        'idempotency-key-in-use',
        'Request with this key in progress',
        `the first request with Idempotency-Key "${key}" is still storing its input; send this again shortly`,
        {},
        { 'retry-after': String(Math.max(1, Math.ceil((held.leaseUntil - at) / 1000))) },
      );
    case 'replay': {
      const jobId = held.jobId as string;
      const view = await service.getJob(jobId);
      return view === undefined
        ? problem(
            404,
            'unknown-job',
            'Unknown job',
            `Idempotency-Key "${key}" made job ${jobId}, which is gone`,
          )
        : json(200, view, { location: `/jobs/${jobId}` });
    }
    case 'proceed':
      break;
  }
  let started: Started;
  try {
    started = await start({ key, owner });
  } catch (error) {
    await service.idempotency.release(key, owner).catch(() => {});
    throw error;
  }
  if (started.response.status === 202) await service.idempotency.complete(key, owner, started.jobId);
  else await service.idempotency.release(key, owner);
  return started.response;
};
