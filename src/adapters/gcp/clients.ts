import { type ClientConfig, PubSub, v1 } from '@google-cloud/pubsub';
import type { GoogleAuth } from 'google-auth-library';

/** The two clients a {@link PubSubQueue} uses: the handwritten one to publish, the generated one to pull. */
export interface PubSubClients {
  /** Publishes (with the client's batching) and administers topics and subscriptions. */
  pubsub: PubSub;
  /** Synchronous pull, acknowledge and modifyAckDeadline: the v1 API, without the streaming machinery. */
  subscriber: v1.SubscriberClient;
  /** Closes both clients' channels. */
  close: () => Promise<void>;
}

export interface PubSubClientOptions {
  /** The Google Cloud project. @default the client's own detection (PUBSUB_PROJECT_ID, credentials, metadata) */
  projectId?: string;
  /**
   * `host:port` of an emulator. The clients then talk plain gRPC to it and need no credentials.
   * @default the PUBSUB_EMULATOR_HOST environment variable; the real service when that is unset too
   */
  emulatorHost?: string;
  /** How the clients authenticate. @default Application Default Credentials */
  auth?: GoogleAuth;
}

/**
 * Makes both clients from one configuration, so the subscriber talks to the same endpoint (the
 * emulator's, when there is one) and project as the publisher. Create them once per process.
 */
export const createPubSubClients = async (options: PubSubClientOptions = {}): Promise<PubSubClients> => {
  const config: ClientConfig = {
    ...(options.projectId !== undefined && { projectId: options.projectId }),
    ...(options.emulatorHost !== undefined && { apiEndpoint: options.emulatorHost, emulatorMode: true }),
    ...(options.auth !== undefined && { auth: options.auth }),
  };
  const pubsub = new PubSub(config);
  // The generated client's options type has an index signature the handwritten client's config lacks.
  const subscriber = new v1.SubscriberClient({ ...(await pubsub.getClientConfig()) });
  return {
    pubsub,
    subscriber,
    close: async () => {
      await Promise.all([pubsub.close(), subscriber.close()]);
    },
  };
};
