import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { ChunkingMode } from '../constants.ts';
import { PipelineSpecError } from './errors.ts';
import type { BuiltRun, StepDefinition, StepSpec } from './step.ts';
import { checkOrder } from './step-order.ts';
import { BUILT_IN_STEPS } from './steps/index.ts';

/** A step whose parameters have been checked: ready to build on any thread. */
export interface ResolvedStep {
  spec: StepSpec;
  definition: StepDefinition;
  params: unknown;
}

const describeIssue = (issue: z.core.$ZodIssue): string => {
  const where = issue.path.length > 0 ? `parameter ${issue.path.join('.')}` : 'parameters';
  if (issue.code === 'unrecognized_keys') return `unknown parameter ${issue.keys.join(', ')}`;
  return `${where}: ${issue.message}`;
};

const isStepDefinition = (value: unknown): value is StepDefinition => {
  const candidate = value as Partial<StepDefinition> | undefined;
  return (
    typeof candidate?.name === 'string' &&
    typeof candidate.create === 'function' &&
    typeof (candidate.params as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
};

/** The steps a pipeline may use: the built-ins and the custom steps loaded from modules. */
export class StepRegistry {
  readonly #steps = new Map<string, StepDefinition>();
  /** Module paths the custom steps came from, so a worker thread can load the same ones. */
  readonly modules: readonly string[];

  private constructor(definitions: readonly StepDefinition[], modules: readonly string[]) {
    for (const definition of definitions) {
      if (this.#steps.has(definition.name)) {
        throw new PipelineSpecError(`step ${definition.name} is defined twice`);
      }
      this.#steps.set(definition.name, definition);
    }
    this.modules = modules;
  }

  /**
   * Loads custom steps: each module's default export is a step definition (see `defineStep`).
   * Relative paths are taken from `baseDir`.
   */
  static async load(modules: readonly string[] = [], baseDir = process.cwd()): Promise<StepRegistry> {
    const absolute = modules.map((path) => resolve(baseDir, path));
    const custom = await Promise.all(
      absolute.map(async (path) => {
        let loaded: { default?: unknown };
        try {
          loaded = await import(pathToFileURL(path).href);
        } catch (cause) {
          throw new PipelineSpecError(
            `custom step module ${path} could not be loaded: ${(cause as Error).message}`,
            {
              cause,
            },
          );
        }
        if (!isStepDefinition(loaded.default)) {
          throw new PipelineSpecError(
            `custom step module ${path} must export default a step definition { name, params, create }`,
          );
        }
        return loaded.default;
      }),
    );
    return new StepRegistry([...BUILT_IN_STEPS, ...custom], absolute);
  }

  static builtIn(): StepRegistry {
    return new StepRegistry(BUILT_IN_STEPS, []);
  }

  get names(): string[] {
    return [...this.#steps.keys()];
  }

  /**
   * Checks a pipeline against the registry and the chunking mode: every step known, every parameter
   * valid, `validate` ahead of any step that changes the data, text steps only on `lines` chunks.
   */
  resolve(specs: readonly StepSpec[], mode: ChunkingMode = ChunkingMode.lines): ResolvedStep[] {
    const steps = specs.map((spec) => {
      const definition = this.#steps.get(spec.name);
      if (definition === undefined) {
        throw new PipelineSpecError(`unknown step ${spec.name}; known steps: ${this.names.join(', ')}`);
      }
      const named = this.#nameBareValues(definition, spec.params);
      const parsed = definition.params.safeParse(named);
      if (!parsed.success) {
        throw new PipelineSpecError(
          `step ${spec.name}: ${parsed.error.issues.map(describeIssue).join('; ')}`,
        );
      }
      const text = typeof definition.text === 'function' ? definition.text(parsed.data) : definition.text;
      if (spec.enabled && text && mode !== ChunkingMode.lines) {
        throw new PipelineSpecError(`step ${spec.name} works on text and needs lines chunking, not ${mode}`);
      }
      return { spec, definition, params: parsed.data };
    });
    checkOrder(steps.filter((step) => step.spec.enabled));
    return steps;
  }

  #nameBareValues(definition: StepDefinition, params: Record<string, unknown>): Record<string, unknown> {
    const named: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) {
      if (!key.startsWith('$')) {
        named[key] = value;
        continue;
      }
      const name = definition.positional?.[Number(key.slice(1))];
      if (name === undefined) {
        throw new PipelineSpecError(`step ${definition.name}: unexpected bare value "${String(value)}"`);
      }
      if (Object.hasOwn(params, name))
        throw new PipelineSpecError(`step ${definition.name}: parameter ${name} is given twice`);
      named[name] = value;
    }
    return named;
  }
}

/** The algorithm of the pipeline's last enabled step when it compresses: the encoding of the job's result. */
export const outputCompression = (steps: readonly ResolvedStep[]): string | undefined => {
  const last = steps.filter((step) => step.spec.enabled).at(-1);
  return last?.spec.name === 'compress' ? (last.params as { algorithm: string }).algorithm : undefined;
};

export const buildRun = (step: ResolvedStep): BuiltRun => step.definition.create(step.params as never);
