import { afterEach, beforeEach } from 'vitest';

/** Makes a fresh subject before each test, hands it to `use`, and runs its cleanup after the test. */
export const freshSubjectPerTest = <S extends { cleanup?: () => Promise<void> }>(
  make: () => Promise<S>,
  use: (subject: S) => void,
): void => {
  let subject: S | undefined;
  beforeEach(async () => {
    subject = await make();
    use(subject);
  });
  afterEach(async () => {
    await subject?.cleanup?.();
  });
};
