import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { CallbackApiError, LambdaTimeoutError } from './errors.ts';

export interface LambdaContextOptions {
  functionName: string;
  /** The function's timeout, which getRemainingTimeInMillis counts down from. */
  timeoutMs: number;
  /** @default 1024 */
  memoryMb?: number;
  /** @default 'us-east-1' */
  region?: string;
  /** moto's default account. @default '123456789012' */
  accountId?: string;
}

const today = (): string => new Date().toISOString().slice(0, 10).replaceAll('-', '/');

/** A Lambda invocation context as the runtime builds one, with the deadline starting now. */
export const createLambdaContext = (options: LambdaContextOptions): Context => {
  const {
    functionName,
    timeoutMs,
    memoryMb = 1024,
    region = 'us-east-1',
    accountId = '123456789012',
  } = options;
  const deadline = Date.now() + timeoutMs;
  const unsupported = (method: string) => () => {
    throw new CallbackApiError(method);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${today()}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
};

/**
 * Runs one invocation under its timeout: a handler still running at the deadline counts as failed
 * (it cannot be stopped in this process, but its answer is no longer awaited).
 */
export const invokeLambda = async <E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  event: E,
  options: LambdaContextOptions,
): Promise<R> => {
  const context = createLambdaContext(options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LambdaTimeoutError(options.functionName, options.timeoutMs)),
      options.timeoutMs,
    );
  });
  try {
    return await Promise.race([handler(event, context), timeout]);
  } finally {
    clearTimeout(timer);
  }
};
