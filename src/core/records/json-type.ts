/** The JSON type of a parsed value in words: `null`, `array`, `object`, `string`, `number` or `boolean`. */
export const jsonType = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
};

/** An object as JSON.parse makes them: not null, not an array, with no prototype but Object's (or none). */
export const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};
