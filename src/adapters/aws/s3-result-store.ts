import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ResultStore } from '../../ports/result-store.ts';
import { readInOrder } from '../result-reading.ts';

/** Keys sort in chunk order: 10 digits cover any job this product can cut. */
const key = (prefix: string, jobId: string, index: number): string =>
  `${prefix}${jobId}/${String(index).padStart(10, '0')}`;

/**
 * Chunk outputs in S3, one object per chunk under `prefix/jobId/`. One PUT per chunk costs $5 per
 * million chunks; packing outputs into fewer objects is the next step for cost (see the AWS issue).
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

  async put(jobId: string, index: number, data: Uint8Array): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: key(this.#prefix, jobId, index), Body: data }),
    );
  }

  async get(jobId: string, index: number): Promise<Uint8Array | undefined> {
    try {
      const object = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: key(this.#prefix, jobId, index) }),
      );
      return await object.Body?.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }

  read(jobId: string, count: number): AsyncIterable<Uint8Array> {
    return readInOrder((index) => this.get(jobId, index), jobId, count);
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
