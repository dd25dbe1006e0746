import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileInputSpool } from '../../src/adapters/local/file-input-spool.ts';
import { FileResultStore } from '../../src/adapters/local/file-result-store.ts';
import { concat } from '../../src/util/bytes.ts';

const text = (value: string) => new TextEncoder().encode(value);
const collect = async (pieces: AsyncIterable<Uint8Array>) => {
  const all: Uint8Array[] = [];
  for await (const piece of pieces) all.push(piece.slice());
  return Buffer.from(concat(all)).toString();
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-kept-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileResultStore, kept', () => {
  it('reads outputs a closed store wrote, past bytes a crash left after them, and appends after those', async () => {
    // Prepare
    const first = new FileResultStore(dir, { kept: true });
    const [a, b] = await first.put('job-1', [text('alpha'), text('beta')]);
    await first.close();
    // A write cut short by a crash: bytes no ref points at.
    await appendFile(join(dir, 'job-1.results'), 'torn');
    const second = new FileResultStore(dir, { kept: true });

    // Act
    const before = await collect(second.read('job-1', [a as string, b as string]));
    const [c] = await second.put('job-1', [text('gamma')]);
    const after = await collect(second.read('job-1', [c as string, a as string]));

    // Assess
    expect(before).toBe('alphabeta');
    expect(after).toBe('gammaalpha');
    await second.close();
  });

  it('reads a range of an output a closed store wrote', async () => {
    // Prepare
    const first = new FileResultStore(dir, { kept: true });
    const [, b] = await first.put('job-3', [text('alpha'), text('beta')]);
    await first.close();
    const second = new FileResultStore(dir, { kept: true });

    // Act
    const range = await second.readRange('job-3', b as string, 1, 10);

    // Assess
    expect(Buffer.from(range).toString()).toBe('eta');
    await second.close();
  });

  it('names its files by the job alone, which removeOrphans leaves alone', async () => {
    // Prepare
    const store = new FileResultStore(dir, { kept: true });
    await store.put('job-2', [text('x')]);
    await store.close();

    // Act
    const removed = await FileResultStore.removeOrphans(dir);

    // Assess
    expect(removed).toEqual([]);
    expect((await stat(join(dir, 'job-2.results'))).size).toBe(1);
  });
});

describe('FileInputSpool', () => {
  it('keeps a file by a hard link: no bytes copied, and the job keeps them when the file is replaced', async () => {
    // Prepare
    const input = join(dir, 'input.txt');
    await writeFile(input, 'one\ntwo\n');
    const spool = new FileInputSpool(join(dir, 'inputs'));

    // Act
    const bytes = await spool.keep('job-1', { path: input });
    const links = (await stat(join(dir, 'inputs', 'job-1.input'))).nlink;
    await rm(input);
    await writeFile(input, 'something else');

    // Assess
    expect(bytes).toBe(8);
    expect(links).toBe(2);
    expect(await collect(spool.read('job-1'))).toBe('one\ntwo\n');
  });

  it('writes a stream out whole, and forgets a job deleted', async () => {
    // Prepare
    const spool = new FileInputSpool(join(dir, 'inputs'));
    const stream = (async function* () {
      yield text('a,');
      yield text('b');
    })();

    // Act
    await spool.keep('job-2', stream);
    const kept = await readFile(join(dir, 'inputs', 'job-2.input'), 'utf8');
    await spool.delete('job-2');

    // Assess
    expect(kept).toBe('a,b');
    expect(await spool.has('job-2')).toBe(false);
  });

  it('refuses a job id that is not safe as a file name', async () => {
    // Prepare
    const spool = new FileInputSpool(join(dir, 'inputs'));

    // Act
    const keeping = spool.keep('../escape', { path: '/etc/hostname' });

    // Assess
    await expect(keeping).rejects.toThrow(/not safe as a file name/);
  });
});
