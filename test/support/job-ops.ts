import { TaskState } from '../../src/core/constants.ts';
import type { JobView } from '../../src/core/job.ts';
import type { TaskRecord } from '../../src/core/task.ts';
import { waitFor } from './e2e.ts';
import type { EmulatorRig } from './emulator-rig.ts';

/** The job operations of the emulator-mode API, as the e2e tests of issue 22 call them; `rig()` once started. */
export const jobOps = (rig: () => EmulatorRig) => {
  const call = async (method: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${rig().mode.url}${path}`, { method, ...init });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const view = (jobId: string) => rig().getJson<JobView>(`/jobs/${jobId}`);
  const tasksOf = async (jobId: string): Promise<TaskRecord[]> => {
    const { status, body } = await call('GET', `/jobs/${jobId}/tasks`);
    if (status !== 200)
      throw new Error(`GET /jobs/${jobId}/tasks answered ${status}: ${JSON.stringify(body)}`);
    return body.tasks as TaskRecord[];
  };

  /**
   * Waits until the job's status passes `status`, every one of its chunks has a task in one of `states`,
   * and its view (which the stats function folds from the table's stream) counts what the task records
   * say, tries included; then the view and the tasks.
   */
  const settled = (jobId: string, status: (s: string) => boolean, states: readonly TaskState[]) =>
    waitFor(async () => {
      const job = await view(jobId);
      if (!status(job.status) || job.chunksTotal === null) return undefined;
      // A read the emulated function failed under load is asked again; one that keeps failing shows here.
      const tasks = await tasksOf(jobId).catch((error: unknown) => {
        console.warn(String(error));
        return undefined;
      });
      // moto writes a new item's keys before its attributes, so a query in between sees a bare key.
      if (tasks === undefined || tasks.some((t) => t.attempts === undefined)) return undefined;
      const tries = tasks.reduce((sum, t) => sum + t.attempts.length, 0);
      const ended = tasks.length === job.chunksTotal && tasks.every((t) => states.includes(t.state));
      const counted =
        job.chunksCompleted === count(tasks, TaskState.completed) &&
        job.chunksFailed === count(tasks, TaskState.failed) &&
        job.chunksCancelled === count(tasks, TaskState.cancelled) &&
        job.stats.attempts === tries;
      return ended && counted ? { job, tasks } : undefined;
    }, 180_000);

  return { call, view, tasksOf, settled };
};

export const count = (tasks: readonly TaskRecord[], state: TaskState): number =>
  tasks.filter((t) => t.state === state).length;
