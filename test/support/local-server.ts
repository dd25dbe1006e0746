import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigSources, loadConfig } from '../../src/config/load.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { createEngine } from '../../src/engine/from-config.ts';
import { type LocalServer, startLocalServer } from '../../src/server/local-server.ts';

export interface TestServer {
  engine: Engine;
  server: LocalServer;
  port: number;
  /** Closes the server and the engine, then removes their folder. */
  close: () => Promise<void>;
}

/**
 * What `fanout serve` starts, on a free loopback port: the engine in a fresh temporary folder named after
 * `name`, configured by `flags` as the CLI would set them, and the HTTP API over it.
 */
export const startTestServer = async (
  name: string,
  flags: NonNullable<ConfigSources['flags']>,
): Promise<TestServer> => {
  const dir = await mkdtemp(join(tmpdir(), `fanout-${name}-`));
  const config = loadConfig({
    env: {},
    cwd: dir,
    flags: [...flags, { path: ['results_dir'], value: join(dir, 'results'), flag: '--results-dir' }],
  });
  const engine = await createEngine(config, { baseDir: dir });
  const server = await startLocalServer(engine, config, { port: 0 }).catch(async (error: unknown) => {
    await engine.close();
    throw error;
  });
  return {
    engine,
    server,
    port: Number(new URL(server.url).port),
    close: async () => {
      await server.close();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
