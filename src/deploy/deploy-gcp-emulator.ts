import { parseArgs } from 'node:util';
import { topicPath } from '../config/queue-address.ts';
import { byLane, type Lanes } from '../core/lanes.ts';
import { DeployInputError } from './deploy-gcp-inputs.ts';
import { ResourceOptionsError } from './errors.ts';
import { defineGcpResources, type GcpResources } from './gcp-resources.ts';

/** What `npm run deploy:gcp -- --emulator` applies: the Pub/Sub part of the plan, to the emulator. */
export interface EmulatorDeployInputs {
  project: string;
  gcp: GcpResources;
  /** By target and lane, where the lane's subscription pushes: as the plan would push, when a URL is given. */
  pushEndpoints: Record<string, Lanes<string>>;
}

export const DEPLOY_GCP_EMULATOR_USAGE =
  'npm run deploy:gcp -- --emulator [--prefix NAME] [--gcp-targets a,b] [--function-url URL]   (PUBSUB_EMULATOR_HOST set)';

/**
 * The inputs of a deploy to the Pub/Sub emulator at `PUBSUB_EMULATOR_HOST`, in project `PUBSUB_PROJECT_ID`
 * (or `--project`). With `--function-url`, each lane's subscription pushes to it as the plan's pushes
 * do (`URL/projects/P/topics/T`); without it, the subscriptions are pull. Throws a `DeployInputError`
 * naming every problem.
 */
export const parseEmulatorDeployInputs = (
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): EmulatorDeployInputs => {
  const issues: string[] = [];
  const { values, tokens } = parseArgs({
    args: [...argv],
    options: {
      emulator: { type: 'boolean' },
      project: { type: 'string' },
      prefix: { type: 'string' },
      'gcp-targets': { type: 'string' },
      'function-url': { type: 'string' },
    },
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') issues.push(`${token.value}: not a flag of deploy:gcp --emulator`);
    if (
      token.kind === 'option' &&
      !['emulator', 'project', 'prefix', 'gcp-targets', 'function-url'].includes(token.name)
    )
      issues.push(`--${token.name}: not a flag of deploy:gcp --emulator`);
  }
  if (!env.PUBSUB_EMULATOR_HOST)
    issues.push('PUBSUB_EMULATOR_HOST is not set: eval "$(npx fanout emulators start)"');
  const project = (values.project as string | undefined) ?? env.PUBSUB_PROJECT_ID;
  if (!project) issues.push('--project (or PUBSUB_PROJECT_ID): required');
  const functionUrl = values['function-url'] as string | undefined;
  if (functionUrl !== undefined && !URL.canParse(functionUrl))
    issues.push(`--function-url: not a URL: ${functionUrl}`);
  let gcp: GcpResources | undefined;
  try {
    const targets = (values['gcp-targets'] as string | undefined)?.split(',').map((target) => target.trim());
    gcp = defineGcpResources({
      ...(values.prefix !== undefined && { prefix: values.prefix as string }),
      ...(targets !== undefined && { gcpTargets: targets }),
    });
  } catch (error) {
    if (!(error instanceof ResourceOptionsError)) throw error;
    issues.push(error.message);
  }
  if (issues.length > 0 || gcp === undefined || !project) {
    throw new DeployInputError(
      `deploy:gcp --emulator cannot start:\n${issues.map((issue) => `  - ${issue}`).join('\n')}\n\n${DEPLOY_GCP_EMULATOR_USAGE}`,
    );
  }
  const pushEndpoints = Object.fromEntries(
    functionUrl === undefined
      ? []
      : gcp.targets.map((target) => [
          target.target,
          byLane(
            (lane) => `${functionUrl.replace(/\/$/, '')}/${topicPath(project, target.lanes[lane].topic)}`,
          ),
        ]),
  );
  return { project, gcp, pushEndpoints };
};
