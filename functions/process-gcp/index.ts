import { setTimeout } from 'node:timers/promises';
import { type CloudEvent, cloudEvent } from '@google-cloud/functions-framework';
import { PUBSUB } from '../../src/adapters/gcp/pubsub-queue.ts';
import { DeliveryNotSettledError } from '../../src/cloud/errors.ts';
import { ChunkMessage } from '../../src/cloud/messages.ts';
import { CloudRuntime } from '../../src/cloud/runtime.ts';

/** What a Pub/Sub trigger's CloudEvent carries: the message, and the delivery count when Pub/Sub keeps one. */
interface MessagePublishedData {
  message: { data?: string; attributes?: Record<string, string>; messageId: string };
  subscription?: string;
  deliveryAttempt?: number;
}

const runtime = await CloudRuntime.fromEnv('processor');
const log = (
  severity: 'INFO' | 'WARNING' | 'ERROR',
  message: string,
  fields: Record<string, unknown>,
): void => {
  console.error(JSON.stringify({ severity, message, ...fields }));
};

const processor = await runtime.processor(runtime.environment.K_REVISION ?? 'process-gcp', {
  refused: ({ id, message: { jobId, index, attempt } }, reason) =>
    log('WARNING', 'delivery refused and dead-lettered', { messageId: id, jobId, index, attempt, reason }),
  held: ({ id, message: { jobId, index } }, reason) =>
    log('INFO', 'delivery held until its job or chunk is recorded', { messageId: id, jobId, index, reason }),
});

/**
 * Runs one pushed chunk message through the same processor as the Lambda. A 2xx answer (returning)
 * acknowledges: the try completed, failed for good, or was handed on as a new message to whichever cloud
 * is healthy. Throwing answers 500 and Pub/Sub delivers it again: a message that cannot be read (until
 * the dead-letter policy takes it) and a delivery that could not be settled.
 */
const processGcp = async (event: CloudEvent<MessagePublishedData>): Promise<void> => {
  const pushed = event.data?.message;
  const id = pushed?.messageId ?? event.id;
  let message: ChunkMessage;
  try {
    message = ChunkMessage.parse(JSON.parse(Buffer.from(pushed?.data ?? '', 'base64').toString('utf8')));
  } catch (error) {
    log('ERROR', 'unreadable message', { messageId: id, error: String(error) });
    throw error;
  }
  // Push has no per-message delay: a retry's backoff is waited out here, up to the longest backoff.
  const until = Number(pushed?.attributes?.[PUBSUB.delayUntilAttribute] ?? 0);
  if (until - Date.now() > runtime.config.retry.max_delay_ms) throw new DeliveryNotSettledError(id);
  // A timer may fire a millisecond before the wall clock reaches its end: wait until the clock says so.
  for (let wait = until - Date.now(); wait > 0; wait = until - Date.now()) await setTimeout(wait);
  const attempt = event.data?.deliveryAttempt;
  // Without a delivery count (the emulator's push has none) every delivery may be a redelivery.
  const redelivered = attempt === undefined || attempt > 1;
  const outcome = (await processor.process([{ id, message, redelivered }])).get(id);
  if (outcome === 'retry' || outcome === undefined) {
    log('WARNING', 'delivery not settled; Pub/Sub will deliver it again', { messageId: id });
    throw new DeliveryNotSettledError(id);
  }
};

cloudEvent('processGcp', processGcp);
