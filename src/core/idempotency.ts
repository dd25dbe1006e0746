import { UsageError } from './errors.ts';

/**
 * How `Idempotency-Key` on `POST /jobs` behaves (the IETF httpapi idempotency-key draft): a key is
 * remembered for `windowMs` after its first request; while that request stores its input it holds a
 * lease of `leaseMs`, and a key whose request died before its job was recorded is free again once the
 * lease has run out.
 */
export const IDEMPOTENCY = {
  /** @default 24 hours */
  windowMs: 24 * 60 * 60 * 1000,
  /** Longer than a request may take to store its input (the ingest function stops at 29 s). @default 60 s */
  leaseMs: 60_000,
  /** @default 255 characters */
  maxKeyLength: 255,
} as const;

/** A key as its store keeps it: which request holds it, what that request asked, and its job once made. */
export interface IdempotencyRecord {
  key: string;
  /** A digest of what the request asked: method, path, query, media type and body. */
  fingerprint: string;
  /** The request that holds the key: an id of its own. */
  owner: string;
  /** Until when the owner holds the key while its job is not recorded yet (epoch ms). */
  leaseUntil: number;
  /** When the key is forgotten (epoch ms). */
  expiresAt: number;
  /** The job the key's request created. */
  jobId?: string;
}

/** What a request does with a key: go on, answer with the key's job, or be refused (422, 409). */
export type IdempotencyDecision = 'proceed' | 'replay' | 'mismatch' | 'in-progress';

/** Whether `record` still holds its key at `now`: within its window, and its job made or its lease running. */
export const holdsKey = (record: IdempotencyRecord, now: number): boolean =>
  record.expiresAt > now && (record.jobId !== undefined || record.leaseUntil > now);

/** What the request that tried to claim a key as `owner` does, given the record that holds the key. */
export const idempotencyDecision = (
  held: IdempotencyRecord,
  owner: string,
  fingerprint: string,
): IdempotencyDecision => {
  if (held.owner === owner) return 'proceed';
  if (held.fingerprint !== fingerprint) return 'mismatch';
  return held.jobId === undefined ? 'in-progress' : 'replay';
};

/** A structured-field string (`"…"`, RFC 8941): printable ASCII, with `\"` and `\\` escaped. */
const SF_STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;
/** What many clients send: the key bare, as a token. */
const BARE = /^[A-Za-z0-9._~:+/=-]+$/;

/**
 * The key of an `Idempotency-Key` header: a structured-field string, or a bare token; undefined when
 * there is none. A malformed one is a `UsageError`.
 */
export const parseIdempotencyKey = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined;
  const value = header.trim();
  const quoted = SF_STRING.exec(value);
  const key = quoted
    ? (quoted[1] as string).replace(/\\(["\\])/g, '$1')
    : BARE.test(value)
      ? value
      : undefined;
  if (key === undefined || key.length === 0 || key.length > IDEMPOTENCY.maxKeyLength) {
    throw new UsageError(
      `Idempotency-Key must be a quoted string (or a bare token) of 1 to ${IDEMPOTENCY.maxKeyLength} printable ASCII characters, such as "8e03978e-40d5-43e8-bc93-6894a57f9324"`,
    );
  }
  return key;
};
