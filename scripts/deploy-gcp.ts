// npm run deploy:gcp: creates or updates the Google Cloud side of a deployment with gcloud (and the
// project's own provisionGcp for Pub/Sub), then prints the context `cdk deploy` needs. docs/deploy.md.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createPubSubClients } from '../src/adapters/gcp/clients.ts';
import { GcloudError, renderShellScript, runGcpDeploy } from '../src/deploy/deploy-gcp.ts';
import { bundleGoogleFunction } from '../src/deploy/deploy-gcp-bundle.ts';
import { parseEmulatorDeployInputs } from '../src/deploy/deploy-gcp-emulator.ts';
import { DeployInputError, parseDeployGcpInputs } from '../src/deploy/deploy-gcp-inputs.ts';
import { PROCESSOR_UNIQUE_ID, PROJECT_NUMBER, planGcpDeploy } from '../src/deploy/deploy-gcp-plan.ts';
import { provisionGcp } from '../src/deploy/provision-gcp.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const gcloud = async (args: readonly string[]): Promise<string> => {
  try {
    const { stdout } = await promisify(execFile)('gcloud', [...args, '--quiet'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    throw new GcloudError(args, (error as { stderr?: string }).stderr ?? String(error), { cause: error });
  }
};

/** `--emulator`: the Pub/Sub part of the plan, applied to the emulator at PUBSUB_EMULATOR_HOST. */
const deployToEmulator = async (argv: readonly string[]): Promise<number> => {
  let inputs: ReturnType<typeof parseEmulatorDeployInputs>;
  try {
    inputs = parseEmulatorDeployInputs(argv, process.env);
  } catch (error) {
    if (!(error instanceof DeployInputError)) throw error;
    console.error(error.message);
    return 2;
  }
  const clients = await createPubSubClients({ projectId: inputs.project });
  try {
    const applied = await provisionGcp(inputs.gcp, clients.pubsub, { pushEndpoints: inputs.pushEndpoints });
    console.log(JSON.stringify(applied, null, 2));
  } finally {
    await clients.close();
  }
  return 0;
};

const main = async (): Promise<number> => {
  if (process.argv.includes('--emulator')) return deployToEmulator(process.argv.slice(2));
  let inputs: ReturnType<typeof parseDeployGcpInputs>;
  try {
    inputs = parseDeployGcpInputs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof DeployInputError)) throw error;
    console.error(error.message);
    return 2;
  }
  const steps = planGcpDeploy(inputs, join(root, '.fanout', 'deploy-gcp', inputs.gcp.prefix));
  if (inputs.dryRun) {
    process.stdout.write(renderShellScript(steps, inputs.gcp));
    return 0;
  }
  const variables = await runGcpDeploy(steps, {
    gcloud,
    provisionPubSub: async () => {
      // Application Default Credentials: `gcloud auth application-default login`.
      const clients = await createPubSubClients({ projectId: inputs.project });
      try {
        await provisionGcp(inputs.gcp, clients.pubsub);
      } finally {
        await clients.close();
      }
    },
    bundle: (outDir) => bundleGoogleFunction(root, outDir),
    writeFile: async (path, text) => {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
    },
    log: (line) => console.error(line),
  });
  const context = {
    prefix: inputs.gcp.prefix,
    awsTargets: inputs.resources.queues.map((queue) => queue.target).join(','),
    gcpTargets: inputs.gcp.targets.map((target) => target.target).join(','),
    gcpProject: inputs.project,
    gcpProjectNumber: variables[PROJECT_NUMBER],
    gcpServiceAccountUniqueId: variables[PROCESSOR_UNIQUE_ID],
  };
  console.log('\nThe Google side is ready. Deploy (or update) the AWS side with:\n');
  console.log(
    `  npx cdk deploy ${Object.entries(context)
      .map(([key, value]) => `-c ${key}=${value}`)
      .join(' ')}`,
  );
  return 0;
};

try {
  process.exitCode = await main();
} catch (error) {
  if (!(error instanceof GcloudError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
