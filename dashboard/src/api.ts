/** Requests to the HTTP API of the page's own origin. A refusal throws `ApiError` with the problem's detail. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const refusal = async (response: Response): Promise<ApiError> => {
  const problem = (await response.json().catch(() => ({}))) as { detail?: string; title?: string };
  return new ApiError(
    response.status,
    problem.detail ?? problem.title ?? `${response.status} ${response.statusText}`,
  );
};

/** The JSON answer of a request, or a thrown `ApiError`. */
export const request = async <T>(path: string, init?: RequestInit): Promise<T> => {
  const response = await fetch(path, { headers: { accept: 'application/json' }, ...init });
  if (!response.ok) throw await refusal(response);
  return (await response.json()) as T;
};

/** A path with its query, leaving out the parameters without a value. */
export const withQuery = (path: string, query: Record<string, string | number | undefined>): string => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
};

export const jobPath = (jobId: string): string => `/jobs/${encodeURIComponent(jobId)}`;

/** What a failed request says, for an alert. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
