import { randomUUID } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ResultRef, ResultStore } from '../../ports/result-store.ts';
import { concat } from '../../util/bytes.ts';
import { coalesce, formatSpan, MissingResultError, parseSpan } from '../result-reading.ts';

/** Back-to-back outputs are fetched in ranged GETs of up to this many bytes. */
const MAX_READ_BYTES = 8 * 1024 * 1024;

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

  async *read(jobId: string, refs: readonly ResultRef[]): AsyncIterable<Uint8Array> {
    const spans = refs.map((ref) => parseSpan(jobId, ref));
    for (const { read, parts } of coalesce(spans, MAX_READ_BYTES)) {
      const data = await this.#range(jobId, read.unit, read.offset, read.length);
      for (const part of parts) {
        const start = part.offset - read.offset;
        if (start + part.length > data.byteLength) throw new MissingResultError(jobId, formatSpan(part));
        yield data.subarray(start, start + part.length);
      }
    }
  }

  async #range(jobId: string, unit: string, offset: number, length: number): Promise<Uint8Array> {
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
        throw new MissingResultError(jobId, formatSpan({ unit, offset, length }), { cause: error });
      }
      throw error;
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
