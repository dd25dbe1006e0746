/** What an endpoint answers when it refuses a request: an RFC 9457 problem, or API Gateway's `{message}`. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  [member: string]: unknown;
}

/**
 * A request the endpoint refused, or could not be sent. A 4xx answer is the caller's to fix (a bad
 * option, an unknown job, a job in the wrong state): exit 2. A 5xx answer or no answer at all: exit 1.
 */
export class EndpointError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(message: string, status: number, problem?: Problem, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EndpointError';
    this.status = status;
    this.problem = problem;
  }

  get exitCode(): number {
    return this.status >= 400 && this.status < 500 ? 2 : 1;
  }

  /** The problem's type without its `urn:fanout:problem:` prefix, such as `unknown-job`. */
  get slug(): string | undefined {
    return this.problem?.type?.replace(/^urn:fanout:problem:/, '');
  }
}

const describe = (status: number, problem: Problem | undefined, text: string): string => {
  if (problem?.detail) return `${problem.title ?? status} (${status}): ${problem.detail}`;
  if (typeof problem?.message === 'string') return `${status}: ${problem.message}`;
  return `${status}${text ? `: ${text.slice(0, 300)}` : ''}`;
};

/** The error for a non-2xx answer, read from its body. */
export const errorFromResponse = async (
  method: string,
  url: URL,
  response: Response,
): Promise<EndpointError> => {
  const text = await response.text().catch(() => '');
  let problem: Problem | undefined;
  if (/json/.test(response.headers.get('content-type') ?? '')) {
    try {
      problem = JSON.parse(text) as Problem;
    } catch {
      problem = undefined;
    }
  }
  return new EndpointError(
    `${method} ${url.pathname} answered ${describe(response.status, problem, text)}`,
    response.status,
    problem,
  );
};

/** The error for a request that got no answer: the endpoint is down, wrong, or unreachable. */
export const errorFromTransport = (url: URL, error: unknown): EndpointError => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return new EndpointError(`cannot reach ${url.origin}: ${reason}`, 0, undefined, { cause: error });
};
