import { stringify } from 'yaml';
import { FanoutError } from '../core/errors.ts';
import type { DeployStep, GcloudArgs } from './deploy-gcp-plan.ts';
import type { GcpResources } from './gcp-resources.ts';

/** A gcloud command that failed; the message has the command and what gcloud said. */
export class GcloudError extends FanoutError {
  readonly stderr: string;

  constructor(args: GcloudArgs, stderr: string, options?: ErrorOptions) {
    super(`gcloud ${args.join(' ')} failed: ${stderr.trim()}`, options);
    this.name = 'GcloudError';
    this.stderr = stderr;
  }
}

/** Runs `gcloud` with these arguments and answers what it printed; throws a {@link GcloudError}. */
export type Gcloud = (args: GcloudArgs) => Promise<string>;

/** What the deploy's steps are carried out with. */
export interface DeployRunner {
  gcloud: Gcloud;
  /** Creates or updates the topics and subscriptions (`provisionGcp` with a client for the project). */
  provisionPubSub: () => Promise<void>;
  /** Bundles the function's source into a folder. */
  bundle: (outDir: string) => Promise<void>;
  writeFile: (path: string, text: string) => Promise<void>;
  log: (line: string) => void;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

const VARIABLE = /\$\{([A-Z0-9_]+)\}/g;
const HAS_VARIABLE = /\$\{[A-Z0-9_]+\}/;

const NOT_FOUND = /NOT_FOUND|not found|does not exist/i;

/** A binding's member or resource made a moment ago may take a little while to be visible to IAM. */
const PROPAGATION_WAITS_MS = [5_000, 10_000, 20_000];

const substitute = (args: GcloudArgs, variables: Record<string, string>): string[] =>
  args.map((arg) =>
    arg.replace(VARIABLE, (_, name: string) => {
      const value = variables[name];
      if (value === undefined) throw new FanoutError(`deploy plan uses \${${name}} before capturing it`);
      return value;
    }),
  );

const isNotFound = (error: unknown): boolean => error instanceof GcloudError && NOT_FOUND.test(error.stderr);

/** A function's environment as the YAML file `gcloud functions deploy --env-vars-file` reads. */
export const envFileYaml = (values: Record<string, string>): string => stringify(values);

/**
 * Runs the steps in order and answers the values captured along the way (the project number, the
 * functions' URLs, the service account's unique id). An `ensure` step describes first: a resource that
 * is missing is created, one that exists is updated, one soft-deleted is undeleted and updated.
 */
export const runGcpDeploy = async (
  steps: readonly DeployStep[],
  runner: DeployRunner,
): Promise<Record<string, string>> => {
  const variables: Record<string, string> = {};
  const sleep = runner.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const gcloud = (args: GcloudArgs) => runner.gcloud(substitute(args, variables));
  for (const step of steps) {
    runner.log(`· ${step.title}`);
    switch (step.kind) {
      case 'gcloud':
        for (let attempt = 0; ; attempt++) {
          try {
            await gcloud(step.args);
            break;
          } catch (error) {
            const wait = PROPAGATION_WAITS_MS[attempt];
            if (!isNotFound(error) || wait === undefined) throw error;
            await sleep(wait);
          }
        }
        break;
      case 'ensure': {
        const state = await gcloud(step.describe).then(
          (output) => output.trim(),
          (error: unknown) => {
            if (isNotFound(error)) return undefined;
            throw error;
          },
        );
        if (state === undefined) {
          await gcloud(step.create);
        } else {
          if (state === 'DELETED' && step.undelete !== undefined) await gcloud(step.undelete);
          await gcloud(step.update);
        }
        break;
      }
      case 'capture':
        variables[step.variable] = (await gcloud(step.args)).trim();
        break;
      case 'pubsub':
        await runner.provisionPubSub();
        break;
      case 'bundle':
        await runner.bundle(step.outDir);
        break;
      case 'env-file':
        await runner.writeFile(step.path, envFileYaml(step.values));
        break;
    }
  }
  return variables;
};

/** An argument as a POSIX shell reads it; `${NAME}` stays expandable. */
const shellWord = (arg: string): string => {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  if (HAS_VARIABLE.test(arg)) {
    return `"${arg.replace(/[\\"`]/g, '\\$&').replace(/\$(?!\{[A-Z0-9_]+\})/g, '\\$')}"`;
  }
  return `'${arg.replaceAll("'", "'\\''")}'`;
};

const command = (args: GcloudArgs): string => ['gcloud', ...args].map(shellWord).join(' ');

const pubsubComment = (gcp: GcpResources): string[] =>
  gcp.targets.flatMap((target) => [
    `#   dead-letter topic ${target.deadLetterTopic} with subscription ${target.deadLetterSubscription}`,
    ...Object.values(target.lanes).map(
      (lane) =>
        `#   lane ${lane.lane}: topic ${lane.topic}; subscription ${lane.subscription}: ack deadline ${target.ackDeadlineSeconds} s, dead letters after ${target.maxDeliveryAttempts} deliveries, retry backoff ${target.minimumBackoffSeconds}-${target.maximumBackoffSeconds} s, retention ${target.messageRetentionSeconds} s, never expires`,
    ),
  ]);

/**
 * The steps as a bash script that does what the deploy would, for `--dry-run`: every create is guarded by
 * a describe, so the script is as idempotent as the deploy. The two steps the deploy does in Node (the
 * Pub/Sub resources, the bundle) are comments.
 */
export const renderShellScript = (steps: readonly DeployStep[], gcp: GcpResources): string => {
  const lines = [
    '#!/usr/bin/env bash',
    '# npm run deploy:gcp --dry-run: the plan, nothing was run.',
    'set -euo pipefail',
  ];
  for (const step of steps) {
    lines.push('', `# ${step.title}`);
    switch (step.kind) {
      case 'gcloud':
        lines.push(command(step.args));
        break;
      case 'ensure':
        if (step.undelete === undefined) {
          lines.push(
            `if ${command(step.describe)} >/dev/null 2>&1; then`,
            `  ${command(step.update)}`,
            'else',
            `  ${command(step.create)}`,
            'fi',
          );
        } else {
          lines.push(
            `case "$(${command(step.describe)} 2>/dev/null || true)" in`,
            `  '') ${command(step.create)} ;;`,
            `  DELETED) ${command(step.undelete)} && ${command(step.update)} ;;`,
            `  *) ${command(step.update)} ;;`,
            'esac',
          );
        }
        break;
      case 'capture':
        lines.push(`${step.variable}=$(${command(step.args)})`);
        break;
      case 'pubsub':
        lines.push(
          '# (done by the deploy in Node, with provisionGcp and the Pub/Sub client)',
          ...pubsubComment(gcp),
        );
        break;
      case 'bundle':
        lines.push(`# (done by the deploy in Node, with esbuild, into ${step.outDir})`);
        break;
      case 'env-file':
        lines.push(`mkdir -p ${shellWord(step.path.slice(0, step.path.lastIndexOf('/')))}`);
        lines.push(`cat > ${shellWord(step.path)} <<'YAML'`, envFileYaml(step.values).trimEnd(), 'YAML');
        break;
    }
  }
  return `${lines.join('\n')}\n`;
};
