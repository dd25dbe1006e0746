import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** API Gateway's own cap on a request body. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

export class PayloadTooLargeError extends Error {
  constructor() {
    super(`the body is larger than API Gateway's limit of ${MAX_BODY_BYTES} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** A Node request as an HTTP API (payload 2.0, `$default` stage) hands it to a function. */
export const toHttpApiEvent = async (req: IncomingMessage): Promise<APIGatewayProxyEventV2> => {
  const parts: Buffer[] = [];
  let bytes = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    bytes += part.byteLength;
    if (bytes > MAX_BODY_BYTES) throw new PayloadTooLargeError();
    parts.push(part);
  }
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(',') : value,
    ]),
  );
  return httpApiEvent(req.method ?? 'GET', req.url ?? '/', headers, {
    protocol: `HTTP/${req.httpVersion}`,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    body: bytes > 0 ? Buffer.concat(parts) : undefined,
  });
};

/** A request as an HTTP API (payload 2.0, `$default` stage) hands it to a function. */
export const httpApiEvent = (
  method: string,
  pathAndQuery: string,
  headers: Record<string, string | undefined>,
  {
    protocol = 'HTTP/1.1',
    sourceIp = '127.0.0.1',
    body,
  }: { protocol?: string; sourceIp?: string; body?: Buffer } = {},
): APIGatewayProxyEventV2 => {
  const url = new URL(pathAndQuery, 'http://localhost');
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      domainName: url.host,
      domainPrefix: 'local',
      http: { method, path: url.pathname, protocol, sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body !== undefined && { body: body.toString('base64') }),
    isBase64Encoded: body !== undefined,
  };
};

export const writeHttpApiResult = (res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void => {
  const body = result.body ?? '';
  res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
  res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
};
