import { UsageError } from '../../core/errors.ts';
import type { ResultRef } from '../../core/task.ts';
import type { InputStore, StoredInput } from '../../ports/input-store.ts';
import type { ResultStore } from '../../ports/result-store.ts';
import { concat } from '../../util/bytes.ts';

/**
 * Inputs in memory, for tests of the cloud path: bodies as `memory://jobId/body`, and segments put in the
 * result store the processors read chunks from. That store names what it keeps itself: a segment written
 * again is kept anew, under new refs, and the segment's record holds the last ones.
 */
export class MemoryInputStore implements InputStore {
  readonly #bodies = new Map<string, Uint8Array>();
  readonly #segments: ResultStore;

  constructor(segments: ResultStore) {
    this.#segments = segments;
  }

  async storeBody(jobId: string, body: AsyncIterable<Uint8Array>): Promise<StoredInput> {
    const pieces: Uint8Array[] = [];
    for await (const piece of body) pieces.push(piece);
    const source = `memory://${jobId}/body`;
    const data = concat(pieces);
    this.#bodies.set(source, data);
    return { source, bytes: data.byteLength };
  }

  async find(source: string): Promise<StoredInput> {
    return { source, bytes: this.#body(source).byteLength };
  }

  async open(source: string, offset: number): Promise<AsyncIterable<Uint8Array>> {
    const body = this.#body(source);
    return (async function* () {
      yield body.subarray(offset);
    })();
  }

  putSegment(jobId: string, _segment: number, chunks: readonly Uint8Array[]): Promise<ResultRef[]> {
    return this.#segments.put(jobId, chunks);
  }

  async deleteBody(source: string): Promise<void> {
    this.#bodies.delete(source);
  }

  /** Bodies still stored: those ingest has not read to their end. */
  get bodies(): number {
    return this.#bodies.size;
  }

  #body(source: string): Uint8Array {
    const body = this.#bodies.get(source);
    if (body === undefined) throw new UsageError(`source ${source} does not exist`);
    return body;
  }
}
