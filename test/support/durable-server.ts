import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'vitest';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { matchOnStderr } from './child-output.ts';
import { BIN, NODE } from './cli-process.ts';

const FINAL = ['completed', 'completed_with_failures', 'failed', 'cancelled'];

/**
 * `fanout serve` on a data directory and a free port, as a child process it adds to `children` (for the
 * test to kill); resolves with its URL once it listens.
 */
export const serveOn = async (
  dataDir: string,
  { cwd, env, children }: { cwd: string; env: NodeJS.ProcessEnv; children: ChildProcess[] },
): Promise<{ url: string; child: ChildProcess }> => {
  const child = spawn(NODE, [BIN, 'serve', '--data-dir', dataDir, '--port', '0'], {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return { url: await matchOnStderr(child, /listening on (http:\/\/\S+)/), child };
};

/** Ends a child with SIGKILL, unless it has ended. */
export const killHard = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
};

/** `POST /jobs` of a text body (with `query`, job options); the job's id, once the answer had `status`. */
export const submitText = async (
  url: string,
  body: string,
  headers: Record<string, string> = {},
  status = 202,
  query = '',
): Promise<string> => {
  const response = await fetch(`${url}/jobs${query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', ...headers },
    body,
  });
  expect(response.status).toBe(status);
  return ((await response.json()) as { jobId: string }).jobId;
};

export const viewOf = async (url: string, jobId: string): Promise<JobView> =>
  (await (await fetch(`${url}/jobs/${jobId}`)).json()) as JobView;

/** The job's view once it has ended (`GET /jobs/{id}?wait=`, again until it has). */
export const endedView = async (url: string, jobId: string): Promise<JobView> => {
  for (;;) {
    const view = (await (await fetch(`${url}/jobs/${jobId}?wait=5`)).json()) as JobView;
    if (FINAL.includes(view.status)) return view;
  }
};

export const tasksOf = async (url: string, jobId: string): Promise<TaskRecord[]> =>
  ((await (await fetch(`${url}/jobs/${jobId}/tasks`)).json()) as { tasks: TaskRecord[] }).tasks;
