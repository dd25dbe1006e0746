import type { StepDefinition } from '../step.ts';
import { calculateStep } from './calculate.ts';
import { chaosStep } from './chaos.ts';
import { checkStep } from './check.ts';
import { compressStep } from './compress.ts';
import { transformStep } from './transform.ts';
import { validateStep } from './validate.ts';

export const BUILT_IN_STEPS: readonly StepDefinition[] = [
  validateStep,
  transformStep,
  compressStep,
  chaosStep,
  checkStep,
  calculateStep,
];
