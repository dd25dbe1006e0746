import { hostname, networkInterfaces } from 'node:os';
import { type ApiResponse, problem } from '../util/http.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const ANY_ADDRESS = new Set(['0.0.0.0', '::', '[::]']);
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export interface GuardOptions {
  /** The address the server listens on (`server.host`). */
  host: string;
  /** The port it listens on, once it does. */
  port: () => number;
  /** `server.allowed_hosts`: more names the `Host` header may carry. */
  allowedHosts: readonly string[];
  /** `server.allowed_origins`: origins whose pages may call the API across origins. */
  allowedOrigins: readonly string[];
}

/** The names the server answers to: loopback, the bound address, or every address when bound to all. */
const hostNames = (host: string, listed: readonly string[]): Set<string> => {
  const bracketed = (address: string) => (address.includes(':') ? `[${address}]` : address);
  const bound = ANY_ADDRESS.has(host)
    ? [
        hostname(),
        ...Object.values(networkInterfaces()).flatMap((addresses) =>
          (addresses ?? []).map((a) => bracketed(a.address)),
        ),
      ]
    : [bracketed(host.replace(/^\[|\]$/g, ''))];
  return new Set([...LOOPBACK_NAMES, ...bound, ...listed].map((name) => name.toLowerCase()));
};

/**
 * What a browser may do to the local server: a web page of another origin may not change anything
 * (Origin), a page reached through a name the server does not carry may not even read (Host, against DNS
 * rebinding), and CORS is granted only to the origins the configuration lists. A client that sends no
 * `Origin` (curl, the CLI) is not a browser page, and passes.
 */
export class RequestGuard {
  readonly #port: () => number;
  readonly #names: Set<string>;
  readonly #origins: Set<string>;

  constructor({ host, port, allowedHosts, allowedOrigins }: GuardOptions) {
    this.#port = port;
    this.#names = hostNames(host, allowedHosts);
    this.#origins = new Set(allowedOrigins.map((origin) => origin.toLowerCase()));
  }

  /** The answer that refuses or settles the request here (a refusal or a preflight), or undefined. */
  answer(method: string, headers: Record<string, string | undefined>): ApiResponse | undefined {
    const host = headers.host;
    if (host !== undefined && !this.#hostAllowed(host)) {
      return problem(
        421,
        'unknown-host',
        'Unknown host',
        `this server does not answer to the name ${host}; list it in server.allowed_hosts if it is meant to`,
      );
    }
    const origin = headers.origin;
    if (origin === undefined) return undefined;
    const listed = this.#origins.has(origin.toLowerCase());
    if (method === 'OPTIONS' && headers['access-control-request-method'] !== undefined) {
      if (!listed) return this.#foreign(origin, 'may not call this server across origins');
      return {
        status: 204,
        headers: {
          ...this.corsHeaders(headers),
          'access-control-allow-methods': 'GET, POST',
          'access-control-allow-headers': headers['access-control-request-headers'] ?? 'content-type',
          'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
        },
      };
    }
    const own = host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
    if (STATE_CHANGING.has(method) && !own && !listed) {
      return this.#foreign(origin, `may not ${method} here`);
    }
    return undefined;
  }

  /** `Access-Control-Allow-Origin` for a listed origin; nothing for any other. */
  corsHeaders(headers: Record<string, string | undefined>): Record<string, string> {
    const origin = headers.origin;
    if (origin === undefined || !this.#origins.has(origin.toLowerCase())) return {};
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  }

  #hostAllowed(host: string): boolean {
    const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host.toLowerCase());
    if (!match) return false;
    const [, name = '', port] = match;
    return this.#names.has(name) && (port === undefined || Number(port) === this.#port());
  }

  #foreign(origin: string, what: string): ApiResponse {
    return problem(
      403,
      'foreign-origin',
      'Foreign origin',
      `a page of origin ${origin} ${what}; list the origin in server.allowed_origins if it is meant to`,
      { origin },
    );
  }
}
