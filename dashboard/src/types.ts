/**
 * What the page reads of the HTTP API (docs/http-api.md): the API's own types, so that the page and the
 * server cannot drift apart. Type imports only; nothing of src/ is bundled but `JobStatus`'s values.
 */
import { JobStatus } from '../../src/core/constants.ts';
import type { TaskRecord } from '../../src/core/task.ts';

export type { JobStatus } from '../../src/core/constants.ts';
export type { JobView } from '../../src/core/job.ts';
export type { StatsReport as JobStats } from '../../src/core/stats/report.ts';
export type { TargetView as TargetFigures } from '../../src/core/stats/targets.ts';
export type { Attempt } from '../../src/core/task.ts';
export type { Timeline } from '../../src/core/timeline.ts';

export const JOB_STATUSES = Object.values(JobStatus);

export type Targets = Record<string, import('../../src/core/stats/targets.ts').TargetView>;

/** A `redistribution` event of `GET /jobs/{id}/events`. */
export interface Redistribution {
  index: number;
  attempt: number;
  from: string;
  to: string;
}

/** `GET /jobs/{id}/tasks?limit=`. */
export interface TaskPage {
  tasks: TaskRecord[];
  nextCursor: string | null;
}
