import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

const NODE = 'node_modules/.bin/node';

describe('fanout run on SIGINT', () => {
  it('lets the tries in flight finish, prints the stats so far and exits 130', async () => {
    // Prepare
    const child = spawn(
      NODE,
      [
        'bin/fanout.ts',
        'run',
        'examples/events.ndjson',
        '--chunk-size',
        '1024',
        '--pipeline',
        'chaos:delay=50',
        '--json',
      ],
      // A window of 64 chunks in the engine, so that most of the 600 are still to come when the signal lands.
      {
        env: { PATH: process.env.PATH ?? '', FANOUT_MAX_PENDING_CHUNKS: '64' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => {
      stdout += data;
    });
    child.stderr.on('data', (data: Buffer) => {
      stderr += data;
    });
    // Chunks are still running once the first ones have completed; 1.5 s is well past start-up.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    // Act
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');

    // Assess
    expect(code).toBe(130);
    expect(stderr).toContain('stopping');
    const view = JSON.parse(stdout);
    expect(view.stats.states.processing).toBe(0);
    expect(view.stats.states.completed).toBeGreaterThan(0);
    expect(view.stats.states.pending).toBeGreaterThan(0);
  });
});
