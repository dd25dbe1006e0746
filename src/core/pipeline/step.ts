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
  /** In `lines` mode: the line of the job's input the chunk starts on, counted from 1. */
  firstLine?: number;
  /** Aborts when the step's timeout passes; a step doing I/O should pass it on. */
  signal: AbortSignal;
}

export type StepRun = (input: Uint8Array, ctx: StepContext) => Uint8Array | Promise<Uint8Array>;

/** One line of NDJSON input as record steps see it; blank lines are not records. */
export interface JsonRecord {
  /** The line of the job's input, counted from 1. */
  line: number;
  /** The line as read, without its line end: what is written out while no step changes the record. */
  text: string;
  /** The parsed line; `NOT_JSON` for a line that is not JSON. */
  value: unknown;
  /** Set by a step that changed `value`: the record is written anew, as JSON. */
  changed?: boolean;
}

/** The `value` of a record whose line is not JSON. */
export const NOT_JSON: unique symbol = Symbol('not JSON');

/** A record a `check` step took out of its chunk: what `GET /jobs/{id}/rejects` gives back, one a line. */
export interface RejectRecord {
  line: number;
  /** The field checked, as written in the step; null for a line that is not JSON. */
  field: string | null;
  rule: string;
  /** The field's value, null when missing; for a line that is not JSON, the line. */
  value: unknown;
  reason: string;
}

export interface RecordContext extends StepContext {
  /** Takes a record out of the chunk, into the job's rejects. */
  reject(reject: RejectRecord): void;
}

/**
 * A step on the records of a chunk: it gives back the records that go on (changed or not), or bytes, which
 * end the records' part of the pipeline (a calculation's partial). Records are parsed once for all the
 * record steps in a row, and written back as lines when a byte step or the end follows.
 */
export interface RecordSteps {
  records(records: JsonRecord[], ctx: RecordContext): JsonRecord[] | Uint8Array;
}

/** What a step definition builds: a step on bytes, or one on records. */
export type BuiltRun = StepRun | RecordSteps;

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
  create(params: z.output<Schema>): BuiltRun;
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
