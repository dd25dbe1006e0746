import type { StepDefinition } from '../step.ts';
import { chaosStep } from './chaos.ts';
import { compressStep } from './compress.ts';
import { transformStep } from './transform.ts';
import { validateStep } from './validate.ts';

export const BUILT_IN_STEPS: readonly StepDefinition[] = [
  validateStep,
  transformStep,
  compressStep,
  chaosStep,
];
