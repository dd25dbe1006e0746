/** Mulberry32: a small, fast, seeded PRNG, so that the input is the same on every run. */
const mulberry32 = (seed: number) => {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const TYPES = ['page_view', 'click', 'add_to_cart', 'checkout', 'search', 'login', 'logout', 'error'];
const PAGES = ['/', '/products', '/products/42', '/cart', '/checkout', '/search', '/account', '/help'];
const AGENTS = ['Mozilla/5.0 (X11; Linux x86_64)', 'Mozilla/5.0 (Macintosh)', 'curl/8.5.0', 'okhttp/4.12'];

/**
 * NDJSON events (lowercase, compressible like real logs), deterministic for a seed: just enough whole
 * lines that `lines` chunking at `chunkSize` cuts exactly `chunks` chunks.
 */
export const ndjsonEvents = (chunks: number, chunkSize: number, seed: number): Buffer => {
  const random = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const out: Buffer[] = [];
  let id = 0;
  for (let c = 0; c < chunks; c++) {
    const lines: string[] = [];
    let bytes = 0;
    for (;;) {
      const line = `${JSON.stringify({
        id: id,
        ts: 1_767_225_600_000 + id * 37,
        type: pick(TYPES),
        user: `user-${Math.floor(random() * 5000)}`,
        session: Math.floor(random() * 2 ** 32).toString(16),
        page: pick(PAGES),
        agent: pick(AGENTS),
        latency_ms: Math.floor(random() * 900),
        ok: random() > 0.03,
      })}\n`;
      if (bytes + line.length > chunkSize) break;
      lines.push(line);
      bytes += line.length;
      id++;
    }
    out.push(Buffer.from(lines.join('')));
  }
  return Buffer.concat(out);
};
