import { once } from 'node:events';
import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeOrphans } from '../util/orphans.ts';

/** Outputs held ahead of the next one to write, or written and not yet taken by the file, at most. */
export const HELD_BYTES = 16 * 1024 * 1024;

const isRegularOrMissing = (path: string): boolean =>
  statSync(path, { throwIfNoEntry: false })?.isFile() ?? true;

/**
 * Writes a job's result, its outputs in chunk order, to a file while the job runs: each output as its
 * task completes, once those before it are written, so that no output is read back from the results
 * store once the job is done. An output that arrives early waits in memory; if more than `heldBytes`
 * would wait, the writer keeps only its place and `finish` reads the rest from the store.
 *
 * A regular file is written under a temporary name next to it and renamed once complete, so `path`
 * never holds a partial result. A device or a pipe (`/dev/stdout`) is written as the outputs come.
 */
export class ResultWriter {
  readonly #path: string;
  readonly #temporary?: string;
  readonly #stream: WriteStream;
  readonly #heldBytes: number;
  readonly #early = new Map<number, Uint8Array>();
  #earlyBytes = 0;
  #next = 0;
  #gaveUp = false;
  #error?: Error;

  private constructor(path: string, temporary: string | undefined, heldBytes: number) {
    this.#path = path;
    this.#temporary = temporary;
    this.#heldBytes = heldBytes;
    this.#stream = createWriteStream(temporary ?? path);
    this.#stream.on('error', (error) => {
      this.#error = error;
    });
  }

  /** Removes the partial files that processes now gone left next to `path`. */
  static removeOrphans(path: string): Promise<string[]> {
    const name = basename(path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return removeOrphans(dirname(path), new RegExp(`^\\.${name}\\.(\\d+)\\.partial$`));
  }

  static async open(path: string, heldBytes = HELD_BYTES): Promise<ResultWriter> {
    await mkdir(dirname(path), { recursive: true });
    const temporary = isRegularOrMissing(path)
      ? join(dirname(path), `.${basename(path)}.${process.pid}.partial`)
      : undefined;
    const writer = new ResultWriter(path, temporary, heldBytes);
    await once(writer.#stream, 'open');
    return writer;
  }

  /** Chunk `index`'s output. An index already taken is ignored: a chunk has one output. */
  offer(index: number, data: Uint8Array): void {
    if (this.#gaveUp || this.#error || index < this.#next || this.#early.has(index)) return;
    if (index !== this.#next) {
      this.#early.set(index, data);
      this.#earlyBytes += data.byteLength;
    } else {
      this.#stream.write(data);
      this.#next++;
      for (
        let early = this.#early.get(this.#next);
        early !== undefined;
        early = this.#early.get(this.#next)
      ) {
        this.#early.delete(this.#next++);
        this.#earlyBytes -= early.byteLength;
        this.#stream.write(early);
      }
    }
    if (this.#earlyBytes + this.#stream.writableLength > this.#heldBytes) {
      this.#gaveUp = true;
      this.#early.clear();
      this.#earlyBytes = 0;
    }
  }

  /**
   * Writes the outputs from where the writer stopped, from `rest(index)`, then puts the file in place.
   * Each piece is written before the next is asked for: `rest` may hand out the next in the same buffer.
   */
  async finish(rest: (from: number) => AsyncIterable<Uint8Array>): Promise<void> {
    this.#gaveUp = true;
    for await (const piece of rest(this.#next)) {
      if (this.#error) break;
      // An error is kept by the stream's handler, and ends the loop.
      await new Promise<void>((resolve) => this.#stream.write(piece, () => resolve()));
    }
    await new Promise<void>((resolve) => this.#stream.end(resolve));
    if (this.#error) throw this.#error;
    if (this.#temporary !== undefined) await rename(this.#temporary, this.#path);
  }

  /** Stops writing; a regular file is left as it was. */
  async abandon(): Promise<void> {
    this.#gaveUp = true;
    if (!this.#stream.closed) {
      this.#stream.destroy();
      await once(this.#stream, 'close');
    }
    if (this.#temporary !== undefined) await rm(this.#temporary, { force: true });
  }
}
