import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3InputStore } from '../../src/adapters/aws/s3-input-store.ts';
import { KiB, MiB } from '../../src/core/constants.ts';
import { awsClientConfig, type Moto, startMoto } from '../support/moto.ts';

const read = async (input: AsyncIterable<Uint8Array>): Promise<Buffer> => {
  const pieces: Uint8Array[] = [];
  for await (const piece of input) pieces.push(piece);
  return Buffer.concat(pieces);
};

describe('S3InputStore.open on moto', () => {
  let moto: Moto;
  let s3: S3Client;
  const bucket = `inputs-${crypto.randomUUID()}`;
  const data = Buffer.from(Array.from({ length: 300 * KiB }, (_, i) => (i * 7) % 256));

  beforeAll(async () => {
    moto = await startMoto();
    s3 = new S3Client(awsClientConfig(moto.endpoint));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in.bin', Body: data }));
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  it.each([0, 1, 200 * KiB + 3, 300 * KiB])('reads the object from byte %i to its end', async (offset) => {
    // Prepare
    const store = new S3InputStore(s3, bucket);

    // Act
    const bytes = await read(await store.open(`s3://${bucket}/in.bin`, offset));

    // Assess
    expect(bytes.equals(data.subarray(offset))).toBe(true);
  });
});

describe('S3InputStore.open against a server that would send 256 MiB', () => {
  const ranges: (string | undefined)[] = [];
  const responses: ServerResponse[] = [];
  let server: Server;
  let s3: S3Client;

  /** Answers every GET with the range asked for, a MiB at a time as the reader takes it. */
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    ranges.push(req.headers.range);
    responses.push(res);
    const offset = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const size = 256 * MiB;
    res.writeHead(206, {
      'content-length': size - offset,
      'content-range': `bytes ${offset}-${size - 1}/${size}`,
    });
    for (let at = offset; at < size && !res.destroyed; at += MiB) {
      if (!res.write(Buffer.alloc(MiB, 'x'))) await once(res, 'drain').catch(() => undefined);
    }
    res.end();
  };

  beforeAll(async () => {
    server = createServer((req, res) => void answer(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    s3 = new S3Client(awsClientConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

  afterAll(async () => {
    s3?.destroy();
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  it('asks for the rest in one GET and ends it when the reader stops early', async () => {
    // Prepare
    const store = new S3InputStore(s3, 'bucket');
    let read = 0;

    // Act
    for await (const piece of await store.open('s3://bucket/big.bin', 1000)) {
      read += piece.byteLength;
      if (read >= 3 * MiB) break;
    }
    const response = responses[0] as ServerResponse;
    if (!response.destroyed) await once(response, 'close');

    // Assess
    expect(ranges).toEqual(['bytes=1000-']);
    expect(response.writableFinished).toBe(false);
    expect(read).toBeLessThan(16 * MiB);
  });
});
