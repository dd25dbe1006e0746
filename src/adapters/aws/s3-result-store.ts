import { randomUUID } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ResultRef } from '../../core/task.ts';
import { MissingResultError } from '../../ports/errors.ts';
import type { ResultStore } from '../../ports/result-store.ts';
import { concat } from '../../util/bytes.ts';
import {
  answerRange,
  checkRange,
  clampRange,
  coveringRanges,
  formatSpan,
  parseSpan,
  type Span,
} from '../result-reading.ts';

/** Outputs that lie near each other are fetched in ranged GETs of up to this many bytes. */
const MAX_READ_BYTES = 8 * 1024 * 1024;
/** Refs read at once: bounds memory to a few ranges whatever the size of the job. */
const READ_WINDOW = 256;

/**
 * Chunk outputs in S3: each `put` is one object under `prefix/jobId/`, holding its outputs back to back,
 * and a ref is `object:offset:length`. A batch of a hundred outputs costs one PUT, and reading a job's
 * outputs in order costs one ranged GET per run of outputs that lie together.
 */
export class S3ResultStore implements ResultStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(client: S3Client, bucket: string, prefix = 'results/') {
    this.#client = client;
    this.#bucket = bucket;
    this.#prefix = prefix;
  }

  async put(jobId: string, outputs: readonly Uint8Array[]): Promise<ResultRef[]> {
    const unit = randomUUID();
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(jobId, unit), Body: concat(outputs) }),
    );
    let offset = 0;
    return outputs.map((data) => {
      const ref = formatSpan({ unit, offset, length: data.byteLength });
      offset += data.byteLength;
      return ref;
    });
  }

  /**
   * Reads refs a window at a time: the window's spans are covered by as few ranged GETs as they allow
   * (one per segment a processor batch touches), fetched at once, then handed out in the order asked.
   */
  async *read(jobId: string, refs: readonly ResultRef[]): AsyncIterable<Uint8Array> {
    for (let start = 0; start < refs.length; start += READ_WINDOW) {
      const spans = refs.slice(start, start + READ_WINDOW).map((ref) => parseSpan(jobId, ref));
      const ranges = coveringRanges(spans, MAX_READ_BYTES);
      const fetched = await Promise.all(
        ranges.map((range) => this.#range(jobId, range.unit, range.offset, range.length)),
      );
      for (const span of spans) {
        const i = ranges.findIndex(
          (r) =>
            r.unit === span.unit &&
            r.offset <= span.offset &&
            span.offset + span.length <= r.offset + r.length,
        );
        const data = fetched[i] as Uint8Array;
        const offset = span.offset - (ranges[i] as Span).offset;
        if (offset + span.length > data.byteLength) throw new MissingResultError(jobId, formatSpan(span));
        yield data.subarray(offset, offset + span.length);
      }
    }
  }

  /** One ranged GET of just the bytes asked for, copied into `into` when given; none for a range that covers no byte. */
  async readRange(
    jobId: string,
    ref: ResultRef,
    offset: number,
    length: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    checkRange(offset, length, into);
    const span = parseSpan(jobId, ref);
    const { start, end } = clampRange(span.length, offset, length);
    const data = await this.#range(jobId, span.unit, span.offset + start, end - start, ref);
    if (data.byteLength !== end - start) throw new MissingResultError(jobId, ref);
    return answerRange(data, into);
  }

  async #range(
    jobId: string,
    unit: string,
    offset: number,
    length: number,
    ref = formatSpan({ unit, offset, length }),
  ): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    try {
      const object = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(jobId, unit),
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      return (await object.Body?.transformToByteArray()) ?? new Uint8Array(0);
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'InvalidRange') {
        throw new MissingResultError(jobId, ref, { cause: error });
      }
      throw error;
    }
  }

  /** Where a job's outputs lie, as an `s3://` URI: one object per `put`. */
  location(jobId: string): string {
    return `s3://${this.#bucket}/${this.#prefix}${jobId}/`;
  }

  /** HeadBucket: the bucket exists and this caller may use it (it needs `s3:ListBucket`). */
  async probe(): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (error) {
      // A HEAD answer has no body: the SDK's message for a 404 or 403 is only "UnknownError".
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const why = status === undefined ? (error as Error).message : `HTTP ${status} ${(error as Error).name}`;
      throw new Error(`bucket ${this.#bucket}: ${why}`, { cause: error });
    }
  }

  #key(jobId: string, unit: string): string {
    return `${this.#prefix}${jobId}/${unit}`;
  }

  async delete(jobId: string): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: `${this.#prefix}${jobId}/`,
          ContinuationToken: token,
        }),
      );
      const objects = (page.Contents ?? []).map((object) => ({ Key: object.Key as string }));
      if (objects.length > 0) {
        await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: objects } }),
        );
      }
      token = page.NextContinuationToken;
    } while (token);
  }
}
