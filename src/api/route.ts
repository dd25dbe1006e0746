import type { ApiRequest, ApiResponse } from '../util/http.ts';

/** One resource of the API: its path, and a handler per method, given the path's first capture decoded. */
export interface Route {
  pattern: RegExp;
  methods: Record<string, (req: ApiRequest, id: string) => Promise<ApiResponse>>;
}
