import { z } from 'zod';
import { NUMBER_TEXT_RULE, parseNumberText } from './number-text.ts';

/** What a step knows about the task it runs for. */
export interface StepContext {
  jobId: string;
  index: number;
  /** SHA-256 of the chunk as it was ingested, hex. */
  sha256: string;
  /** 1 for the first try. */
  attempt: number;
  target: string;
  workerId: string;
  /** When the job started, ms since the epoch; chaos outages are timed from it. */
  jobStartedAt: number;
  /** Aborts when the step's timeout passes; a step doing I/O should pass it on. */
  signal: AbortSignal;
}

export type StepRun = (input: Uint8Array, ctx: StepContext) => Uint8Array | Promise<Uint8Array>;

/**
 * A pipeline step: built-in or supplied by a user as the default export of a module.
 * `params` is a strict zod object: a parameter it does not know is an error that names it.
 */
export interface StepDefinition<Schema extends z.ZodType = z.ZodType> {
  name: string;
  /** Names given, in order, to the bare values of a spec (`compress:gzip` sets the first one to `gzip`). */
  positional?: readonly string[];
  params: Schema;
  /**
   * A text step decodes chunks as UTF-8 or reads them line by line, so it needs `lines` chunking: a byte
   * cut could split a character or a line. A function decides by the step's parameters.
   */
  text?: boolean | ((params: z.output<Schema>) => boolean);
  create(params: z.output<Schema>): StepRun;
}

/** Types a step definition; the identity at run time. */
export const defineStep = <Schema extends z.ZodType>(
  definition: StepDefinition<Schema>,
): StepDefinition<Schema> => definition;

/** One step of a pipeline as written in a spec or a config file, not yet built. */
export interface StepSpec {
  name: string;
  params: Record<string, unknown>;
  /** @default true */
  enabled: boolean;
  /** @default 30000 */
  timeoutMs: number;
}

export const DEFAULT_STEP_TIMEOUT_MS = 30_000;

/**
 * A number parameter: a number from a config file, or its text from a spec in the grammar of
 * `parseNumberText`. Text outside it (`0x10`, `1e3`, ` 5`, empty) is an error, never a guess.
 */
export const numberParam = () =>
  z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value;
    const number = parseNumberText(value);
    if (number === undefined) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `"${value}" is not a number: write ${NUMBER_TEXT_RULE}`,
      });
      return z.NEVER;
    }
    return number;
  }, z.number());
