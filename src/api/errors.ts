import { type ApiResponse, problem } from '../util/http.ts';

/** A request body longer than the limit; the API answers 413. */
export class BodyTooLargeError extends Error {
  constructor(limit: number) {
    super(`the body is larger than the limit of ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** An upload whose average rate fell below the minimum once its grace was over; the API answers 408. */
export class UploadTooSlowError extends Error {
  constructor(bytes: number, seconds: number, minBytesPerSecond: number) {
    super(
      `the body came at ${Math.floor(bytes / seconds)} bytes/s (${bytes} bytes in ${seconds.toFixed(1)} s), below the minimum of ${minBytesPerSecond} bytes/s`,
    );
    this.name = 'UploadTooSlowError';
  }
}

/** The 413 of a body over `limit` bytes, with what to do about it. */
export const bodyTooLarge = (limit: number, remedy: string): ApiResponse =>
  problem(
    413,
    'body-too-large',
    'Body too large',
    `the body is larger than the limit of ${limit} bytes; ${remedy}`,
  );
