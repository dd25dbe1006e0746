import { topicPath } from '../config/queue-address.ts';
import type { Priority } from '../core/constants.ts';
import type { DeployGcpInputs } from './deploy-gcp-inputs.ts';
import type { DeployStep } from './deploy-gcp-plan.ts';
import type { PubSubLaneDefinition } from './gcp-resources.ts';

/** The variable the URL of a target's lane's function is captured into. */
const functionUrlVariable = (target: string, lane: Priority): string =>
  `FUNCTION_URL_${target.toUpperCase().replaceAll('-', '_')}_${lane.toUpperCase()}`;

/** Where a lane's function comes from and who it deals with; the same for every lane of a target. */
export interface LaneFunctionContext {
  target: string;
  /** The bundled source folder. */
  source: string;
  /** The target's environment file, for `--env-vars-file`. */
  envFile: string;
  /** The e-mail of the service account the function runs as. */
  runAs: string;
  /** The e-mail of the service account Pub/Sub pushes as. */
  pushAs: string;
}

/**
 * The steps that stand one lane's function up: deploy it with the lane's share of the instances, one
 * delivery each, read its URL, let only the push account invoke it, and push the lane's subscription to
 * it. Each is safe to run again.
 */
export const laneFunctionSteps = (
  { project, region, gcp }: Pick<DeployGcpInputs, 'project' | 'region' | 'gcp'>,
  lane: PubSubLaneDefinition,
  context: LaneFunctionContext,
): DeployStep[] => {
  const at = `--project=${project}`;
  const name = lane.functionName;
  const url = functionUrlVariable(context.target, lane.lane);
  return [
    {
      // `functions deploy` creates the function or updates it to this source and configuration.
      kind: 'gcloud',
      title: `function ${name} (lane ${lane.lane}, at most ${lane.maxInstances} at once)`,
      args: [
        'functions',
        'deploy',
        name,
        '--gen2',
        at,
        `--region=${region}`,
        `--runtime=${gcp.function.runtime}`,
        `--entry-point=${gcp.function.entryPoint}`,
        `--source=${context.source}`,
        '--trigger-http',
        '--no-allow-unauthenticated',
        `--service-account=${context.runAs}`,
        `--timeout=${gcp.processor.timeoutSeconds}s`,
        `--memory=${gcp.function.memoryMb}Mi`,
        `--max-instances=${lane.maxInstances}`,
        '--concurrency=1',
        `--env-vars-file=${context.envFile}`,
      ],
    },
    {
      kind: 'capture',
      title: `the URL of ${name}`,
      variable: url,
      args: [
        'functions',
        'describe',
        name,
        '--gen2',
        at,
        `--region=${region}`,
        '--format=value(serviceConfig.uri)',
      ],
    },
    {
      // roles/run.invoker on the function's service, for the account Pub/Sub pushes as.
      kind: 'gcloud',
      title: `${name}: Pub/Sub may invoke it`,
      args: [
        'functions',
        'add-invoker-policy-binding',
        name,
        at,
        `--region=${region}`,
        `--member=serviceAccount:${context.pushAs}`,
      ],
    },
    {
      // The functions framework reads the topic from the push path.
      kind: 'gcloud',
      title: `${lane.subscription}: push each delivery to ${name}`,
      args: [
        'pubsub',
        'subscriptions',
        'update',
        lane.subscription,
        at,
        `--push-endpoint=\${${url}}/${topicPath(project, lane.topic)}`,
        `--push-auth-service-account=${context.pushAs}`,
        `--push-auth-token-audience=\${${url}}`,
      ],
    },
  ];
};
