import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ApiRequest, ApiResponse } from '../util/http.ts';
import { problem } from '../util/http.ts';

/** What a function may answer: 6 MB of payload, base64 taking a third more for binary bodies. */
const MAX_BINARY_RESPONSE_BYTES = 4 * 1024 * 1024;

/** An API Gateway HTTP API (payload 2.0) request as the API takes it. */
export const fromHttpApiEvent = (event: APIGatewayProxyEventV2): ApiRequest => {
  const body =
    event.body === undefined ? [] : [Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')];
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: new URLSearchParams(event.rawQueryString ?? ''),
    headers: Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
    body: (async function* () {
      yield* body;
    })(),
  };
};

/** The API's answer as an HTTP API result: text as it is, bytes in base64. */
export const toHttpApiResult = async (response: ApiResponse): Promise<APIGatewayProxyStructuredResultV2> => {
  const { status: statusCode, headers, body } = response;
  if (body === undefined || typeof body === 'string') return { statusCode, headers, body: body ?? '' };
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const part of body instanceof Uint8Array ? [body] : body) {
    bytes += part.byteLength;
    if (bytes > MAX_BINARY_RESPONSE_BYTES) {
      return toHttpApiResult(
        problem(
          501,
          'result-too-large',
          'Result too large for a function answer',
          `the result is larger than the ${MAX_BINARY_RESPONSE_BYTES} bytes a function may answer; ${response.elsewhere ?? 'no other place to read it is known'}`,
        ),
      );
    }
    parts.push(part);
  }
  return { statusCode, headers, body: Buffer.concat(parts).toString('base64'), isBase64Encoded: true };
};
