import { describe, expect, it } from 'vitest';
import type { ChunkMessage } from '../../src/cloud/messages.ts';
import { Reconciler } from '../../src/cloud/reconciler.ts';
import { PRIORITIES, type Priority, Strategy, TaskState } from '../../src/core/constants.ts';
import {
  type CloudRig,
  cloudJobs,
  cloudRig,
  deliver,
  drain,
  encode,
  jobRequest,
  MemoryStats,
  runIngestSteps,
  stageJob,
  TARGETS,
} from '../support/cloud.ts';

/** Every message waiting in lane `lane` of every target, handed out. */
const drainLane = async (rig: CloudRig, lane: Priority): Promise<ChunkMessage[]> =>
  (await Promise.all(TARGETS.map((target) => drain(rig.lanes[target][lane])))).flat();

/** Every message waiting in each lane, across the targets. */
const waitingByLane = async (rig: CloudRig): Promise<Record<Priority, ChunkMessage[]>> => ({
  high: await drainLane(rig, 'high'),
  medium: await drainLane(rig, 'medium'),
  low: await drainLane(rig, 'low'),
});

/** Runs one round of the high lanes' deliveries on their targets' processors; how many there were. */
const runHighLanes = async (rig: CloudRig): Promise<number> => {
  let ran = 0;
  for (const target of TARGETS) {
    const queue = rig.lanes[target].high;
    const batch = await queue.receive({ max: 100, waitMs: 0, visibilityMs: 60_000 });
    ran += batch.length;
    await rig.processors[target].process(batch.map((d) => deliver(d.body, false, d.receipt)));
    await queue.ack(batch.map((d) => d.receipt));
  }
  return ran;
};

describe('Lanes on the cloud path', () => {
  it('gives a queue of its own to each lane, and the rig a medium queue per target', () => {
    // Prepare
    const rig = cloudRig({ separateLanes: true });

    // Act
    const queues = TARGETS.map((target) => new Set(PRIORITIES.map((lane) => rig.lanes[target][lane])));

    // Assess
    expect(queues.map((lanes) => lanes.size)).toEqual([3, 3]);
    expect(rig.queues.aws).toBe(rig.lanes.aws.medium);
  });

  it("sends a high job's first tries, its retries and its re-run to the high lanes only", async () => {
    // Prepare: every try fails, so each chunk takes its three tries and fails; the job is then re-run.
    const rig = cloudRig({ separateLanes: true });
    const stats = new MemoryStats();
    const jobs = cloudJobs(rig, stats);
    const request = jobRequest('chaos:fail=1', { priority: 'high', strategy: Strategy.roundRobin });
    const { jobId } = await jobs.submit(
      (async function* () {
        // Lines of 1 KiB, one a chunk.
        for (const word of ['alpha', 'beta', 'gamma']) yield encode(`${word.padEnd(1023, '.')}\n`);
      })(),
      request,
    );
    await runIngestSteps(rig);

    // Act
    let ran = 0;
    const strays: ChunkMessage[] = [];
    for (let round = 0; round < 3; round++) {
      ran += await runHighLanes(rig);
      strays.push(...(await drainLane(rig, 'medium')), ...(await drainLane(rig, 'low')));
    }
    const failed = (await jobs.listTasks(jobId, TaskState.failed)) ?? [];
    for (const task of failed) stats.record(task);
    await jobs.retry(jobId);
    const rerun = await waitingByLane(rig);

    // Assess
    expect(ran).toBe(3 * 3);
    expect(strays).toEqual([]);
    expect(failed).toHaveLength(3);
    expect(rerun.high.map((m) => [m.index, m.attempt]).sort()).toEqual([
      [0, 4],
      [1, 4],
      [2, 4],
    ]);
    expect([...rerun.medium, ...rerun.low]).toEqual([]);
  });

  it('resends a stranded try of a low job in the low lane', async () => {
    // Prepare: the chunks' messages were lost (never sent), so the reconciler finds them unclaimed.
    const rig = cloudRig({ separateLanes: true });
    await stageJob(rig, 'job-low', jobRequest('transform:uppercase', { priority: 'low' }), ['a\n', 'b\n']);
    const reconciler = new Reconciler({
      tasks: rig.tasks,
      router: rig.router,
      health: rig.health,
      rules: { strandedAfterMs: 1000, breakerOpenMs: 1000, ingestStalledMs: 60_000 },
      maxDelayMs: 0,
      now: () => Date.now() + 60_000,
    });

    // Act
    await reconciler.run();
    const resent = await waitingByLane(rig);

    // Assess
    expect(resent.low.map((m) => m.index).sort()).toEqual([0, 1]);
    expect([...resent.high, ...resent.medium]).toEqual([]);
  });

  it('fails a lane over to the same lane of another target when its queue refuses', async () => {
    // Prepare
    const rig = cloudRig({ separateLanes: true });
    rig.lanes.aws.low.send = async () => {
      throw new Error('deadline exceeded');
    };
    const messages = await stageJob(rig, 'job-low', jobRequest('', { priority: 'low' }), ['a\n', 'b\n']);

    // Act
    await rig.router.send(
      messages.map((message) => ({ message })),
      { targets: ['aws', 'gcp'], strategy: Strategy.roundRobin, priority: 'low' },
    );

    // Assess
    expect((await drain(rig.lanes.gcp.low)).map((m) => m.index).sort()).toEqual([0, 1]);
    expect(await drain(rig.lanes.gcp.medium)).toEqual([]);
  });
});
