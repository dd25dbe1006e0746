import fc from 'fast-check';

/**
 * Pieces of pipeline specs for property tests: valid names, parameters and values mixed with mutated
 * ones (numbers in forbidden forms, prototype keys, stray separators, broken percent-encoding).
 * `chaos` is left out on purpose: its faults open breakers, and a 503 from an open breaker is an
 * answer the server is right to give.
 */
const STEP_NAMES = ['validate', 'transform', 'compress', 'chaos-not', 'Validate', ''];
const KEYS = [
  'level',
  'pattern',
  'timeout',
  'enabled',
  'op',
  'algorithm',
  'format',
  '__proto__',
  'constructor',
];
const VALUES = [
  'ndjson',
  'gzip',
  'brotli',
  'deflate',
  'normalize',
  'uppercase',
  'lowercase',
  'filter',
  '0',
  '1',
  '6',
  '9',
  '12',
  '-1',
  '1.5',
  '0x3',
  '1e0',
  ' 6',
  '6 ',
  '+6',
  '.5',
  'Infinity',
  'NaN',
  '1000',
  '30000',
  '900000',
  '900001',
  '2147483648',
  '99999999999999999999999',
  'true',
  'false',
  'yes',
  '',
  '%',
  '%2',
  '%zz',
  '%E0%A4%A',
  '%2C',
  '%3A',
  '^x',
  'a|b',
  '[',
];

/** A value: one of the interesting ones, or any short string. */
export const specValue = fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 8 }));

/** One parameter as written: a bare value or `key=value`, keys known, prototype-ish or arbitrary. */
export const specParam = fc.oneof(
  specValue,
  fc
    .tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), specValue)
    .map(([key, value]) => `${key}=${value}`),
);

/** A spec string built from the grammar, with valid and mutated pieces. */
export const specText = fc
  .array(
    fc
      .tuple(
        fc.oneof(fc.constantFrom(...STEP_NAMES), fc.string({ maxLength: 6 })),
        fc.array(specParam, { maxLength: 3 }),
      )
      .map(([name, params]) => [name, ...params].join(':')),
    { maxLength: 4 },
  )
  .map((steps) => steps.join(','));

/** A well-formed step for round trips: a name and named values, any text, written percent-encoded. */
export const wellFormedStep = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
  params: fc.dictionary(
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/).filter((key) => key !== 'timeout' && key !== 'enabled'),
    fc.string({ maxLength: 12 }),
    { maxKeys: 4 },
  ),
});
