/** How a message body becomes the text a queue carries, and back. */
export interface Codec<T> {
  encode(body: T): string;
  decode(text: string): T;
}

export const jsonCodec = <T>(): Codec<T> => ({
  encode: (body) => JSON.stringify(body),
  decode: (text) => JSON.parse(text) as T,
});
