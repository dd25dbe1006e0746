import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { UsageError } from '../../core/errors.ts';
import type { ResultRef } from '../../core/task.ts';
import type { InputStore, StoredInput } from '../../ports/input-store.ts';
import { concat } from '../../util/bytes.ts';
import { formatSpan } from '../result-reading.ts';

const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;
const BODY = 'body';

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** The name of a segment's object: its number, zero-padded so that a listing is in order. */
export const segmentUnit = (segment: number): string => `segment-${String(segment).padStart(8, '0')}`;

/**
 * A job's input in S3: a request's body at `prefix/jobId/body`, and each segment at
 * `prefix/jobId/segment-N`, whose chunks `S3ResultStore` over the same prefix reads (`unit:offset:length`
 * refs). A source a client names may be any object this function can read.
 */
export class S3InputStore implements InputStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(client: S3Client, bucket: string, prefix = 'inputs/') {
    this.#client = client;
    this.#bucket = bucket;
    this.#prefix = prefix;
  }

  /** A body is at most what the API takes (API Gateway's 10 MB): it is put in one request. */
  async storeBody(jobId: string, body: AsyncIterable<Uint8Array>): Promise<StoredInput> {
    const pieces: Uint8Array[] = [];
    for await (const piece of body) pieces.push(piece);
    const data = concat(pieces);
    const key = `${this.#prefix}${jobId}/${BODY}`;
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: data }));
    return { source: `s3://${this.#bucket}/${key}`, bytes: data.byteLength };
  }

  async find(source: string): Promise<StoredInput> {
    const { bucket, key } = this.#parse(source);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { source, bytes: head.ContentLength ?? 0 };
    } catch (error) {
      if (statusOf(error) === 404) throw new UsageError(`source ${source} does not exist`, { cause: error });
      throw error;
    }
  }

  /**
   * One GET of the range from `offset` to the object's end, read as it arrives: many small ranged GETs
   * cost a request each, and a store that reads a range in time proportional to the whole object (moto)
   * pays that at every one. A reader that stops early (a step that hands over or fails ends its
   * iteration) aborts the request, so the connection does not stay open for the rest of the object.
   */
  async open(source: string, offset: number): Promise<AsyncIterable<Uint8Array>> {
    const { bucket, key } = this.#parse(source);
    const client = this.#client;
    return (async function* () {
      const request = new AbortController();
      try {
        const object = await client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-` }),
          { abortSignal: request.signal },
        );
        yield* object.Body as AsyncIterable<Uint8Array>;
      } catch (error) {
        // A range that starts at the end: the input was read whole.
        if (statusOf(error) === 416) return;
        throw error;
      } finally {
        request.abort();
      }
    })();
  }

  async putSegment(jobId: string, segment: number, chunks: readonly Uint8Array[]): Promise<ResultRef[]> {
    const unit = segmentUnit(segment);
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${this.#prefix}${jobId}/${unit}`,
        Body: concat(chunks),
      }),
    );
    let offset = 0;
    return chunks.map((chunk) => {
      const ref = formatSpan({ unit, offset, length: chunk.byteLength });
      offset += chunk.byteLength;
      return ref;
    });
  }

  async deleteBody(source: string): Promise<void> {
    const { bucket, key } = this.#parse(source);
    const ours = bucket === this.#bucket && key.startsWith(this.#prefix) && key.endsWith(`/${BODY}`);
    if (ours) await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  #parse(source: string): { bucket: string; key: string } {
    const match = S3_URI.exec(source);
    if (match === null) throw new UsageError(`source ${source} is not an s3://bucket/key URI`);
    return { bucket: match[1] as string, key: match[2] as string };
  }
}
