import { z } from 'zod';
import { defineStep } from '../../../src/core/pipeline/step.ts';

/**
 * `spin`: a step that never yields on a chunk that starts with `spin` (a loop no timer or signal can
 * interrupt, as a runaway regex or a bug would), and passes any other chunk through.
 */
export default defineStep({
  name: 'spin',
  params: z.strictObject({}),
  create: () => (input) => {
    const spins = input[0] === 0x73 && new TextDecoder().decode(input.subarray(0, 4)) === 'spin';
    while (spins) {
      // Never yields: only ending the thread stops it.
    }
    return input;
  },
});
