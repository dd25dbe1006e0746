import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Moto {
  endpoint: string;
  /** Clears every resource: POST /moto-api/reset. */
  reset: () => Promise<void>;
  /** Stops the server this call started, by its PID. */
  stop: () => Promise<void>;
}

/** Client settings for the emulator: its endpoint, any region, dummy keys. */
export const awsClientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  forcePathStyle: true,
});

/** Starts moto_server on a free loopback port (it picks one and prints it) and waits until it answers. */
export const startMoto = async (): Promise<Moto> => {
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const onData = (data: Buffer) => {
      seen += data;
      const match = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (match) resolve(Number(match[1]));
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`moto_server exited with ${code} before it listened: ${seen}`)),
    );
    child.once('error', reject);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: ${response.status}`);
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
};
