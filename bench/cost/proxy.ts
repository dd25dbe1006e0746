import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const Service = {
  dynamodb: 'dynamodb',
  streams: 'dynamodb-streams',
  sqs: 'sqs',
  s3: 's3',
  other: 'other',
} as const;
export type Service = (typeof Service)[keyof typeof Service];

/** One request that went through the proxy, as the model needs it. */
export interface RequestRecord {
  /** What the bench was doing when the request arrived (`setup`, `job`, `after`). */
  phase: string;
  service: Service;
  /** The API operation: `UpdateItem`, `ReceiveMessage`, `PutObject`, … */
  operation: string;
  status: number;
  requestBytes: number;
  responseBytes: number;
  /** Arrival order. */
  seq: number;
  /** Time from arrival to the emulator's last response byte. */
  latencyMs: number;
  /** SQS: message bodies and message attributes, of the request (sends) or the response (receives). */
  sqsPayloadBytes?: number;
  /** SQS: messages sent, received or deleted. */
  sqsMessages?: number;
  /** DynamoDB: the parsed request and response, kept for the capacity-unit model. */
  dynamo?: { request: unknown; response: unknown };
}

const JSON_TARGETS: [string, Service][] = [
  ['DynamoDBStreams_20120810.', Service.streams],
  ['DynamoDB_20120810.', Service.dynamodb],
  ['AmazonSQS.', Service.sqs],
];

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The S3 operation of a path-style request, from its method, path and query. */
export const s3Operation = (method: string, url: URL, headers: IncomingHttpHeaders): string => {
  const [bucket = '', ...rest] = url.pathname.replace(/^\//, '').split('/');
  const key = rest.join('/');
  const query = url.searchParams;
  if (bucket === '') return method === 'GET' ? 'ListBuckets' : `${method} /`;
  if (key === '') {
    if (method === 'GET') {
      for (const sub of ['lifecycle', 'location', 'versioning', 'policy', 'cors', 'acl', 'tagging'])
        if (query.has(sub)) return `GetBucket:${sub}`;
      return 'ListObjects';
    }
    if (method === 'PUT') {
      for (const sub of ['lifecycle', 'versioning', 'policy', 'cors', 'acl', 'tagging', 'notification'])
        if (query.has(sub)) return `PutBucket:${sub}`;
      return 'CreateBucket';
    }
    if (method === 'POST' && query.has('delete')) return 'DeleteObjects';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    return `${method} bucket`;
  }
  if (method === 'PUT') {
    if (query.has('partNumber'))
      return header(headers, 'x-amz-copy-source') ? 'UploadPartCopy' : 'UploadPart';
    return header(headers, 'x-amz-copy-source') ? 'CopyObject' : 'PutObject';
  }
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'DELETE') return query.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'POST') {
    if (query.has('uploads')) return 'CreateMultipartUpload';
    if (query.has('uploadId')) return 'CompleteMultipartUpload';
    return 'PostObject';
  }
  return `${method} object`;
};

const utf8 = (text: unknown): number => (typeof text === 'string' ? Buffer.byteLength(text) : 0);

interface SqsMessageLike {
  MessageBody?: string;
  Body?: string;
  MessageAttributes?: Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }>;
}

/** What SQS bills by: the message body plus each message attribute's name, type and value. */
const messagePayload = (message: SqsMessageLike): number =>
  utf8(message.MessageBody ?? message.Body) +
  Object.entries(message.MessageAttributes ?? {}).reduce(
    (sum, [name, value]) =>
      sum +
      utf8(name) +
      utf8(value.DataType) +
      utf8(value.StringValue) +
      (value.BinaryValue ? Buffer.from(value.BinaryValue, 'base64').byteLength : 0),
    0,
  );

const parseJson = (body: Buffer): unknown => {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
};

/** SQS's billed payload and message count of one JSON-protocol request, from its request or its response. */
const sqsPayload = (
  operation: string,
  request: unknown,
  response: unknown,
): { sqsPayloadBytes: number; sqsMessages: number } => {
  const req = (request ?? {}) as { Entries?: SqsMessageLike[] } & SqsMessageLike;
  const res = (response ?? {}) as { Messages?: SqsMessageLike[] };
  switch (operation) {
    case 'SendMessage':
      return { sqsPayloadBytes: messagePayload(req), sqsMessages: 1 };
    case 'SendMessageBatch':
      return {
        sqsPayloadBytes: (req.Entries ?? []).reduce((sum, entry) => sum + messagePayload(entry), 0),
        sqsMessages: req.Entries?.length ?? 0,
      };
    case 'ReceiveMessage':
      return {
        sqsPayloadBytes: (res.Messages ?? []).reduce((sum, message) => sum + messagePayload(message), 0),
        sqsMessages: res.Messages?.length ?? 0,
      };
    case 'DeleteMessageBatch':
    case 'ChangeMessageVisibilityBatch':
      return { sqsPayloadBytes: 0, sqsMessages: req.Entries?.length ?? 0 };
    case 'DeleteMessage':
    case 'ChangeMessageVisibility':
      return { sqsPayloadBytes: 0, sqsMessages: 1 };
    default:
      return { sqsPayloadBytes: 0, sqsMessages: 0 };
  }
};

export interface CountingProxy {
  /** `http://127.0.0.1:PORT`: what AWS_ENDPOINT_URL is set to. */
  endpoint: string;
  records: RequestRecord[];
  /** Requests arriving from now on are labelled with this phase. */
  setPhase: (phase: string) => void;
  close: () => Promise<void>;
}

/**
 * A loopback HTTP proxy in front of the emulator that records every request by service and operation:
 * X-Amz-Target for the JSON protocols (DynamoDB, DynamoDB Streams, SQS), Action= for SQS's query
 * protocol, method and path for S3 (path-style). Bodies are buffered, so that the DynamoDB requests and
 * responses can be sized afterwards and SQS payloads measured.
 */
export const startCountingProxy = async (upstream: string): Promise<CountingProxy> => {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const records: RequestRecord[] = [];
  let phase = 'setup';
  let seq = 0;
  const server: Server = createServer((req, res) => {
    const arrived = performance.now();
    const order = seq++;
    const recordPhase = phase;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', upstream);
      const amzTarget = header(req.headers, 'x-amz-target');
      let service: Service = Service.s3;
      let operation = '';
      if (amzTarget !== undefined) {
        const match = JSON_TARGETS.find(([prefix]) => amzTarget.startsWith(prefix));
        service = match?.[1] ?? Service.other;
        operation = match ? amzTarget.slice(match[0].length) : amzTarget;
      } else if (header(req.headers, 'content-type')?.startsWith('application/x-www-form-urlencoded')) {
        const action = new URLSearchParams(body.toString('utf8')).get('Action');
        service = action ? Service.sqs : Service.other;
        operation = action ?? 'form';
      } else if (url.pathname.startsWith('/moto-api')) {
        service = Service.other;
        operation = url.pathname;
      } else {
        operation = s3Operation(req.method ?? 'GET', url, req.headers);
      }
      const upstreamReq = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (upstreamRes) => {
          const parts: Buffer[] = [];
          upstreamRes.on('data', (chunk: Buffer) => parts.push(chunk));
          upstreamRes.on('end', () => {
            const response = Buffer.concat(parts);
            const record: RequestRecord = {
              phase: recordPhase,
              service,
              operation,
              status: upstreamRes.statusCode ?? 0,
              requestBytes: body.byteLength,
              responseBytes: response.byteLength,
              seq: order,
              latencyMs: performance.now() - arrived,
            };
            if (service === Service.sqs && amzTarget !== undefined) {
              Object.assign(record, sqsPayload(operation, parseJson(body), parseJson(response)));
            }
            if (service === Service.dynamodb) {
              record.dynamo = { request: parseJson(body), response: parseJson(response) };
            }
            records.push(record);
            const headers = { ...upstreamRes.headers };
            if (req.method !== 'HEAD') {
              delete headers['transfer-encoding'];
              headers['content-length'] = String(response.byteLength);
            }
            res.writeHead(upstreamRes.statusCode ?? 502, headers);
            res.end(response);
          });
          upstreamRes.on('error', (error) => res.destroy(error));
        },
      );
      upstreamReq.on('error', (error) => {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
      upstreamReq.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    records,
    setPhase: (next) => {
      phase = next;
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
};
