import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.ts';
import { startTestServer, type TestServer } from '../support/local-server.ts';

const LISTED = 'https://app.example';
const EVIL = 'https://evil.example';
const TEXT = 'one line\nanother line\n';
/** Small enough that the slow-client tests take a second, not the five minutes of the defaults. */
const GRACE_MS = 300;
const MIN_BYTES_PER_SECOND = 1024;
const HEADERS_TIMEOUT_MS = 500;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let served: TestServer;
let engine: Engine;
let port: number;

beforeAll(async () => {
  served = await startTestServer('refusals', [
    { path: ['workers_per_target'], value: 1, flag: '--workers' },
    { path: ['server', 'allowed_origins'], value: [LISTED], flag: 'server.allowed_origins' },
    { path: ['server', 'headers_timeout_ms'], value: HEADERS_TIMEOUT_MS, flag: 'headers_timeout_ms' },
    { path: ['server', 'upload_grace_ms'], value: GRACE_MS, flag: 'server.upload_grace_ms' },
    {
      path: ['server', 'min_upload_bytes_per_second'],
      value: MIN_BYTES_PER_SECOND,
      flag: 'server.min_upload_bytes_per_second',
    },
  ]);
  ({ engine, port } = served);
});

afterAll(async () => {
  await served?.close();
});

/** A request with any headers, `Host` included, which `fetch` will not send. */
const send = (method: string, path: string, headers: Record<string, string>, body = ''): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => {
        text += piece;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });

const postText = (headers: Record<string, string>, query = ''): Promise<Answer> =>
  send('POST', `/jobs${query}`, { 'content-type': 'text/plain', ...headers }, TEXT);

const unchunk = (text: string): string => {
  let body = '';
  for (let at = 0; ; ) {
    const end = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, end), 16);
    if (!(size > 0)) return body;
    body += text.slice(end + 2, end + 2 + size);
    at = end + 2 + size + 2;
  }
};

/** Writes `head` on a raw socket, then whatever `feed` writes, and reads the answer until the server closes. */
const raw = (head: string, feed?: (socket: Socket) => void): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      feed?.(socket);
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (piece: string) => {
      text += piece;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [top = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = top.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: headers['transfer-encoding'] === 'chunked' ? unchunk(body) : body,
      });
    });
  });

/** Waits for an accepted job to end, so that the next test counts tasks on a quiet engine. */
const ended = async (answer: Answer): Promise<void> => {
  const { jobId } = JSON.parse(answer.body) as { jobId: string };
  for (let poll = 0; poll < 500; poll++) {
    const view = JSON.parse((await send('GET', `/jobs/${jobId}`, {})).body) as { status: string };
    if (view.status.startsWith('completed')) return;
    await sleep(20);
  }
  throw new Error(`job ${jobId} did not end in time`);
};

const expectProblem = (answer: Answer, status: number, detail: string | RegExp): void => {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  const body = JSON.parse(answer.body) as { status: number; detail: string };
  expect(body.status).toBe(status);
  expect(body.detail).toMatch(detail);
};

describe('a request from a web page of another origin', () => {
  it('is refused with 403 for a text/plain POST /jobs, which needs no preflight, and starts no job', async () => {
    // Prepare
    const tasksBefore = engine.stats().tasks;

    // Act
    const answer = await postText({ origin: EVIL });

    // Assess
    expectProblem(answer, 403, `a page of origin ${EVIL} may not POST here`);
    expect(JSON.parse(answer.body)).toMatchObject({ origin: EVIL });
    expect(engine.stats().tasks).toBe(tasksBefore);
  });

  it('is refused a CORS preflight unless its origin is listed', async () => {
    // Prepare
    const headers = { origin: EVIL, 'access-control-request-method': 'POST' };

    // Act
    const answer = await send('OPTIONS', '/jobs', headers);

    // Assess
    expectProblem(answer, 403, `origin ${EVIL} may not call this server across origins`);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is accepted from the server’s own origin', async () => {
    // Prepare
    const headers = { origin: `http://127.0.0.1:${port}` };

    // Act
    const answer = await postText(headers);

    // Assess
    expect(answer.status).toBe(202);
    await ended(answer);
  });
});

describe('a listed origin', () => {
  it('gets its preflight answered with the Access-Control-Allow-* headers', async () => {
    // Prepare
    const headers = {
      origin: LISTED,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    };

    // Act
    const answer = await send('OPTIONS', '/jobs', headers);

    // Assess
    expect(answer.status).toBe(204);
    expect(answer.headers).toMatchObject({
      'access-control-allow-origin': LISTED,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  });

  it('gets its preflight answered on a connection the client can keep using', async () => {
    // Prepare: one kept-alive socket; a preflight that carries a body, as a careless client might.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const over = (method: string, path: string, headers: Record<string, string>, body = '') =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });

    // Act
    const preflight = await over(
      'OPTIONS',
      '/jobs',
      { origin: LISTED, 'access-control-request-method': 'POST' },
      'a body',
    );
    const next = await over('GET', '/health', {}).finally(() => agent.destroy());

    // Assess
    expect([preflight, next]).toEqual([204, 200]);
  });

  it('may POST a job and read the answer', async () => {
    // Prepare
    const headers = { origin: LISTED };

    // Act
    const answer = await postText(headers);

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.headers['access-control-allow-origin']).toBe(LISTED);
    await ended(answer);
  });
});

describe('the Host header', () => {
  it.each(['evil.example', `evil.example:${0}`, `127.0.0.1.evil.example`])(
    'refuses %s with 421, as a DNS-rebinding page would send',
    async (host) => {
      // Prepare
      const tasksBefore = engine.stats().tasks;
      const name = host.replace(':0', `:${port}`);

      // Act
      const [health, job] = await Promise.all([
        send('GET', '/stats', { host: name }),
        postText({ host: name }),
      ]);

      // Assess
      expectProblem(health, 421, `this server does not answer to the name ${name}`);
      expectProblem(job, 421, /server.allowed_hosts/);
      expect(engine.stats().tasks).toBe(tasksBefore);
    },
  );

  it.each(['localhost', '127.0.0.1', '[::1]'])('accepts %s with the bound port', async (name) => {
    // Prepare
    const host = `${name}:${port}`;

    // Act
    const answer = await send('GET', '/health', { host });

    // Assess
    expect(answer.status).toBe(200);
  });

  it('refuses a loopback name with another port', async () => {
    // Prepare
    const host = `localhost:${port + 1}`;

    // Act
    const answer = await send('GET', '/health', { host });

    // Assess
    expectProblem(answer, 421, `does not answer to the name ${host}`);
  });
});

describe('a duplicated query parameter', () => {
  it.each([
    { method: 'POST', path: '/jobs?chunkSize=1024&chunkSize=2048', name: 'chunkSize' },
    { method: 'POST', path: '/jobs?pipeline=validate&pipeline=transform:normalize', name: 'pipeline' },
    { method: 'GET', path: '/jobs/nope/tasks?status=failed&status=completed', name: 'status' },
  ])('answers 400 naming $name on $method $path', async ({ method, path, name }) => {
    // Prepare
    const tasksBefore = engine.stats().tasks;

    // Act
    const answer = await send(method, path, { 'content-type': 'text/plain' }, method === 'POST' ? TEXT : '');

    // Assess
    expectProblem(answer, 400, `query parameter ${name} is given more than once`);
    expect(engine.stats().tasks).toBe(tasksBefore);
  });
});

describe('a client that sends too much or too slowly', () => {
  it('gets 431 as problem+json for headers over the limit', async () => {
    // Prepare
    const head = `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;

    // Act
    const answer = await raw(head);

    // Assess
    expectProblem(answer, 431, /request headers are larger than the server takes/);
  });

  it('gets 408 as problem+json when its headers do not arrive in time', async () => {
    // Prepare
    const head = 'GET /health HTTP/1.1\r\nHost: localhost\r\n';

    // Act
    const answer = await raw(head);

    // Assess
    expectProblem(answer, 408, /did not arrive whole in time/);
  });

  it('gets 408 when it uploads below the minimum rate, and frees its ingest slot', async () => {
    // Prepare: as many slow uploads as there are ingest slots, each sending a byte every 100 ms.
    const head = `POST /jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n`;
    const dribble = (socket: Socket) => {
      const timer = setInterval(() => socket.write('a'), 100);
      socket.on('close', () => clearInterval(timer));
    };
    const started = performance.now();

    // Act
    const answers = await Promise.all(Array.from({ length: 4 }, () => raw(head, dribble)));
    const elapsed = performance.now() - started;
    const after = await postText({});

    // Assess
    for (const answer of answers) expectProblem(answer, 408, /below the minimum of 1024 bytes\/s/);
    expect(elapsed).toBeLessThan(GRACE_MS + 2_000);
    expect(after.status).toBe(202);
    await ended(after);
  }, 10_000);

  it('is not refused for a pause shorter than the grace', async () => {
    // Prepare
    const head = `POST /jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: ${TEXT.length}\r\nConnection: close\r\n\r\n`;

    // Act
    const answer = await raw(head, (socket) => {
      void sleep(GRACE_MS / 2).then(() => socket.write(TEXT));
    });

    // Assess
    expect(answer.status).toBe(202);
    await ended(answer);
  });
});
