import { checkCallbackUrl } from '../core/callback-url.ts';
import { assertChunkSize } from '../core/chunker.ts';
import { ChunkingMode, Priority, Strategy } from '../core/constants.ts';
import { UsageError } from '../core/errors.ts';
import type { JobRequest } from '../core/job.ts';
import { parseNumberText } from '../core/pipeline/number-text.ts';
import { parsePipelineSpec, toStepSpec } from '../core/pipeline/spec.ts';
import type { StepSpec } from '../core/pipeline/step.ts';
import type { Config } from './schema.ts';

/** The options one job may set for itself: HTTP query parameters, all text. */
export const JOB_OPTIONS = [
  'pipeline',
  'chunking',
  'chunkSize',
  'maxAttempts',
  'strategy',
  'targets',
  'priority',
  'callbackUrl',
  'notify',
] as const;
export type JobOverrides = Partial<Record<(typeof JOB_OPTIONS)[number], string>>;

const wholeNumber = (name: string, text: string): number => {
  const value = parseNumberText(text);
  if (value === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw new UsageError(`${name} must be a whole number, got "${text}"`);
  }
  return value;
};

const oneOf = <T extends string>(name: string, text: string, allowed: Record<string, T>): T => {
  const values = Object.values(allowed);
  if (!values.includes(text as T))
    throw new UsageError(`${name} must be one of ${values.join(', ')}, got "${text}"`);
  return text as T;
};

export const pipelineFromConfig = (pipeline: Config['pipeline']): StepSpec[] =>
  typeof pipeline === 'string'
    ? parsePipelineSpec(pipeline)
    : pipeline.map((step) =>
        toStepSpec(step.step, {
          ...step.params,
          enabled: step.enabled,
          ...(step.timeout_ms !== undefined && { timeout: step.timeout_ms }),
        }),
      );

/**
 * A job's request: the configuration's job settings with the job's own options on top. Each option is
 * checked here for its form; `Engine.prepare` then checks steps and targets against the engine.
 */
export const jobRequestFrom = (
  config: Config,
  overrides: Record<string, string | undefined> = {},
): JobRequest => {
  const unknown = Object.keys(overrides).filter((key) => !(JOB_OPTIONS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new UsageError(`unknown option ${unknown.join(', ')}; allowed: ${JOB_OPTIONS.join(', ')}`);
  }
  const o = overrides as JobOverrides;
  const size = o.chunkSize === undefined ? config.chunking.size : wholeNumber('chunkSize', o.chunkSize);
  assertChunkSize(size);
  if (o.notify !== undefined && o.callbackUrl === undefined) {
    throw new UsageError('notify needs a callbackUrl to send to');
  }
  if (o.callbackUrl !== undefined && config.notify.webhook_secret === '') {
    throw new UsageError(
      'callbackUrl needs a webhook secret to sign with; set notify.webhook_secret (FANOUT_NOTIFY_WEBHOOK_SECRET)',
    );
  }
  const targets = o.targets === undefined ? config.targets : o.targets.split(',').map((t) => t.trim());
  return {
    pipeline: o.pipeline === undefined ? pipelineFromConfig(config.pipeline) : parsePipelineSpec(o.pipeline),
    chunking: {
      mode: o.chunking === undefined ? config.chunking.mode : oneOf('chunking', o.chunking, ChunkingMode),
      size,
    },
    maxAttempts:
      o.maxAttempts === undefined ? config.retry.max_attempts : wholeNumber('maxAttempts', o.maxAttempts),
    strategy: o.strategy === undefined ? config.balancer.strategy : oneOf('strategy', o.strategy, Strategy),
    targets,
    priority: o.priority === undefined ? config.priority.default : oneOf('priority', o.priority, Priority),
    ...(o.callbackUrl !== undefined && { callbackUrl: checkCallbackUrl(o.callbackUrl) }),
    ...(o.notify !== undefined && {
      notify: oneOf('notify', o.notify, { end: 'end', progress: 'progress' } as const),
    }),
  };
};
