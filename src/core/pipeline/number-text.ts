/**
 * The one grammar of a number written as text, in a step parameter or a query option: decimal digits,
 * an optional leading `-` and an optional fraction after a `.`. No exponent, hex, `+`, `_`, spaces or
 * `Infinity`, so the text means the same number to every reader. Whether a negative number or a fraction
 * is allowed is up to the parameter.
 */
export const NUMBER_TEXT = /^-?\d+(?:\.\d+)?$/;

/** What the grammar accepts, in words, for error messages. */
export const NUMBER_TEXT_RULE = 'decimal digits with an optional leading - and .fraction';

/** The number `text` writes, or undefined when it is not in the grammar or too large to be finite. */
export const parseNumberText = (text: string): number | undefined => {
  if (!NUMBER_TEXT.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
};
