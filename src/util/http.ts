/** A request as every front end (the local server, the ingest Lambda) hands it to the API. */
export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  body: AsyncIterable<Uint8Array>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Where else the body can be read, for a front end that cannot carry one this large (a function). */
  elsewhere?: string;
}

const PROBLEM_TYPE = 'urn:fanout:problem:';

/** An RFC 9457 problem document: what went wrong, in words that name it. */
export const problem = (
  status: number,
  slug: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): ApiResponse => ({
  status,
  headers: { 'content-type': 'application/problem+json', ...headers },
  body: JSON.stringify({ type: PROBLEM_TYPE + slug, title, status, detail, ...extra }),
});

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});
