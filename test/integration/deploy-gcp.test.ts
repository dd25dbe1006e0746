import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse } from 'yaml';
import { functionEnvironment } from '../../src/config/function-env.ts';
import { DEFAULT_JOB_TTL_SECONDS } from '../../src/core/constants.ts';
import { byLane } from '../../src/core/lanes.ts';
import { GcloudError, renderShellScript, runGcpDeploy } from '../../src/deploy/deploy-gcp.ts';
import { bundleGoogleFunction } from '../../src/deploy/deploy-gcp-bundle.ts';
import { DeployInputError, parseDeployGcpInputs } from '../../src/deploy/deploy-gcp-inputs.ts';
import { type GcloudArgs, planGcpDeploy } from '../../src/deploy/deploy-gcp-plan.ts';
import { provisionGcp } from '../../src/deploy/provision-gcp.ts';
import { pubsubForThisFile } from '../support/pubsub.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const PROJECT = 'acme-fanout';
const FLAGS = [
  '--project',
  PROJECT,
  '--region',
  'europe-west1',
  '--aws-account-id',
  '123456789012',
  '--aws-region',
  'eu-west-1',
];
const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/deploy-gcp.ts');
const WORK_DIR = '/tmp/fanout-deploy';

/** The message of the DeployInputError `parse` throws. */
const refusal = (parse: () => unknown): string => {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(DeployInputError);
    return (error as Error).message;
  }
  throw new Error('no DeployInputError was thrown');
};

const flag = (args: GcloudArgs, name: string): string | undefined =>
  args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

describe('deploy:gcp inputs', () => {
  it('names every missing input with its flag and environment variable, in one message', () => {
    // Act
    const message = refusal(() => parseDeployGcpInputs([], {}));

    // Assess
    expect(message).toContain('--project (or GOOGLE_CLOUD_PROJECT): required');
    expect(message).toContain('--region (or GOOGLE_CLOUD_REGION): required');
    expect(message).toContain('--aws-account-id (or AWS_ACCOUNT_ID): required');
    expect(message).toContain('--aws-region (or AWS_REGION): required');
  });

  it('names every malformed input and unknown flag', () => {
    // Prepare
    const argv = [
      '--project',
      'Acme',
      '--region',
      'x',
      '--aws-account-id',
      '12',
      '--aws-region',
      'mars',
      '--projet',
      'y',
    ];

    // Act
    const message = refusal(() => parseDeployGcpInputs(argv, {}));

    // Assess
    expect(message).toMatch(/--project \(or GOOGLE_CLOUD_PROJECT\): a project id/);
    expect(message).toMatch(/--region \(or GOOGLE_CLOUD_REGION\): a Cloud Functions region/);
    expect(message).toMatch(/--aws-account-id \(or AWS_ACCOUNT_ID\): an AWS account id: 12 digits/);
    expect(message).toMatch(/--aws-region \(or AWS_REGION\): an AWS region/);
    expect(message).toContain('--projet: not a flag of deploy:gcp');
  });

  it.each([
    [
      ['--prefix', 'a-rather-long-prefix-x'],
      '--prefix: the service account id a-rather-long-prefix-x-processor',
    ],
    [['--prefix', 'goog'], 'Pub/Sub names may not start with "goog"'],
    [['--max-concurrent-tasks', '0'], 'maxConcurrentTasks'],
    [['--gcp-targets', 'gcp,gcp'], 'gcpTargets: target names must be unique'],
    [
      ['--lane-shares', 'high=70,medium=20,low=20'],
      'laneShares: the shares of high, medium and low must sum to 100',
    ],
    [['--lane-shares', 'high=60,medium=30,urgent=10'], 'laneShares: Unrecognized key: "urgent"'],
    [
      ['--lane-shares', '60,30,10'],
      '--lane-shares: each lane and its percent, e.g. high=60,medium=30,low=10',
    ],
  ])('refuses %j, naming why', (extra, expected) => {
    // Act
    const message = refusal(() => parseDeployGcpInputs([...FLAGS, ...extra], {}));

    // Assess
    expect(message).toContain(expected);
  });

  it('takes the project, regions and account from the environment, flags first', () => {
    // Prepare
    const env = {
      GOOGLE_CLOUD_PROJECT: 'from-env-project',
      GOOGLE_CLOUD_REGION: 'us-central1',
      AWS_ACCOUNT_ID: '210987654321',
      AWS_REGION: 'us-east-1',
    };

    // Act
    const inputs = parseDeployGcpInputs(['--region', 'europe-west1'], env);

    // Assess
    expect(inputs).toMatchObject({
      project: 'from-env-project',
      region: 'europe-west1',
      awsAccountId: '210987654321',
      awsRegion: 'us-east-1',
      awsRoleName: 'fanout-from-gcp',
      dryRun: false,
    });
  });
});

describe('the deploy:gcp plan', () => {
  const inputs = parseDeployGcpInputs(FLAGS, {});
  const steps = planGcpDeploy(inputs, WORK_DIR);
  const gcloudSteps = steps.filter((step) => step.kind === 'gcloud');
  const ensured = steps.filter((step) => step.kind === 'ensure');

  it('creates nothing without describing it first: every create is the missing branch of a describe', () => {
    // Prepare
    const verbOf = (args: GcloudArgs) =>
      args.find(
        (arg) =>
          ['create', 'create-aws', 'delete', 'deploy', 'update', 'enable'].includes(arg) ||
          arg.startsWith('add-'),
      );

    // Act
    const unguarded = gcloudSteps.map((step) => verbOf(step.args));

    // Assess
    expect(new Set(unguarded)).toEqual(
      new Set(['enable', 'add-iam-policy-binding', 'add-invoker-policy-binding', 'deploy', 'update']),
    );
    expect(ensured.map((step) => step.title)).toEqual([
      `service account fanout-processor@${PROJECT}.iam.gserviceaccount.com`,
      `service account fanout-publisher@${PROJECT}.iam.gserviceaccount.com`,
      `service account fanout-invoker@${PROJECT}.iam.gserviceaccount.com`,
      'workload identity pool fanout-aws',
      expect.stringMatching(/^AWS provider aws-functions/),
    ]);
    for (const step of ensured) {
      const id = (args: GcloudArgs, verb: string) => args[args.indexOf(verb) + 1]?.split('@')[0];
      expect(step.describe).toContain('describe');
      expect(id(step.describe, 'describe')).toBe(
        id(step.create, step.create.includes('create') ? 'create' : 'create-aws'),
      );
      expect(step.update.some((arg) => arg === 'update' || arg === 'update-aws')).toBe(true);
    }
  });

  it('trusts the AWS account in the provider and admits only the roles of the publishing Lambda functions', () => {
    // Act
    const provider = ensured.find((step) => step.create.includes('create-aws'));

    // Assess
    expect(flag(provider?.create ?? [], 'account-id')).toBe('123456789012');
    expect(flag(provider?.create ?? [], 'attribute-condition')).toBe(
      "attribute.aws_role in ['arn:aws:sts::123456789012:assumed-role/fanout-ingest', 'arn:aws:sts::123456789012:assumed-role/fanout-ingest-step', 'arn:aws:sts::123456789012:assumed-role/fanout-reconcile', 'arn:aws:sts::123456789012:assumed-role/fanout-stats', 'arn:aws:sts::123456789012:assumed-role/fanout-process-aws']",
    );
    expect(flag(provider?.update ?? [], 'attribute-condition')).toBe(
      flag(provider?.create ?? [], 'attribute-condition'),
    );
    const members = gcloudSteps
      .filter((step) => flag(step.args, 'role') === 'roles/iam.workloadIdentityUser')
      .map((step) => flag(step.args, 'member'));
    // ${PROJECT_NUMBER} is captured while the deploy runs.
    const principals = `principalSet://iam.googleapis.com/projects/\${PROJECT_NUMBER}/locations/global/workloadIdentityPools/fanout-aws/attribute.aws_role`;
    expect(members).toEqual([
      `${principals}/arn:aws:sts::123456789012:assumed-role/fanout-ingest`,
      `${principals}/arn:aws:sts::123456789012:assumed-role/fanout-ingest-step`,
      `${principals}/arn:aws:sts::123456789012:assumed-role/fanout-reconcile`,
      `${principals}/arn:aws:sts::123456789012:assumed-role/fanout-stats`,
      `${principals}/arn:aws:sts::123456789012:assumed-role/fanout-process-aws`,
    ]);
  });

  it('deploys a function per lane on nodejs22 with entry point processGcp, private, as its own service account, with its environment file', () => {
    // Prepare
    const deploys = gcloudSteps.filter((step) => step.args.includes('deploy'));
    const envFile = steps.find((step) => step.kind === 'env-file');

    // Act
    const names = deploys.map((step) => step.args[2]);

    // Assess
    expect(names).toEqual(['fanout-process-gcp-high', 'fanout-process-gcp-medium', 'fanout-process-gcp-low']);
    for (const { args } of deploys) {
      expect(args.slice(0, 2)).toEqual(['functions', 'deploy']);
      expect(args[3]).toBe('--gen2');
      expect(flag(args, 'runtime')).toBe('nodejs22');
      expect(flag(args, 'entry-point')).toBe('processGcp');
      expect(args).toContain('--no-allow-unauthenticated');
      expect(flag(args, 'service-account')).toBe(`fanout-processor@${PROJECT}.iam.gserviceaccount.com`);
      expect(flag(args, 'env-vars-file')).toBe(envFile?.kind === 'env-file' ? envFile.path : 'none');
    }
  });

  it("gives each lane's function its share of --max-concurrent-tasks as instances of one delivery each", () => {
    // Prepare
    const split = planGcpDeploy(
      parseDeployGcpInputs(
        [...FLAGS, '--max-concurrent-tasks', '20', '--lane-shares', 'high=50,medium=30,low=20'],
        {},
      ),
      WORK_DIR,
    );

    // Act
    const instances = (plan: typeof steps) =>
      plan
        .filter((step) => step.kind === 'gcloud' && step.args.includes('deploy'))
        .map((step) =>
          step.kind === 'gcloud' ? [flag(step.args, 'max-instances'), flag(step.args, 'concurrency')] : [],
        );

    // Assess
    expect(instances(steps)).toEqual([
      ['6', '1'],
      ['3', '1'],
      ['1', '1'],
    ]);
    expect(instances(split)).toEqual([
      ['10', '1'],
      ['6', '1'],
      ['4', '1'],
    ]);
  });

  it('gives the function exactly the environment functionEnvironment builds for the Google processor', () => {
    // Prepare
    const deployment = {
      tableName: 'fanout-tasks',
      bucketName: 'fanout-data',
      queues: {
        aws: byLane((lane) => `https://sqs.eu-west-1.amazonaws.com/123456789012/fanout-aws-${lane}`),
        gcp: byLane((lane) => `projects/${PROJECT}/topics/fanout-gcp-${lane}`),
      },
      jobTtlSeconds: DEFAULT_JOB_TTL_SECONDS,
      googleProject: PROJECT,
      awsRole: {
        region: 'eu-west-1',
        arn: 'arn:aws:iam::123456789012:role/fanout-from-gcp',
        audience: inputs.resources.federation.audience,
      },
    };
    const processor = {
      name: 'processor',
      target: 'gcp',
      deadLetter: `projects/${PROJECT}/topics/fanout-gcp-dlq`,
      leaseMs: 60_000,
    } as const;

    // Act
    const envFile = steps.find((step) => step.kind === 'env-file');

    // Assess
    expect(envFile?.kind === 'env-file' && envFile.values).toEqual(
      functionEnvironment(deployment, processor),
    );
  });

  it("pushes each lane's subscription to the lane's function with an OIDC token of the invoker, which alone may invoke it", () => {
    // Act
    const pushes = gcloudSteps.filter(
      (step) => step.args.includes('subscriptions') && step.args.includes('update'),
    );
    const invokers = gcloudSteps.filter((step) => step.args.includes('add-invoker-policy-binding'));

    // Assess
    expect(pushes.map((step) => [step.args[3], flag(step.args, 'push-endpoint')])).toEqual(
      ['high', 'medium', 'low'].map((lane) => [
        `fanout-gcp-${lane}`,
        `\${FUNCTION_URL_GCP_${lane.toUpperCase()}}/projects/${PROJECT}/topics/fanout-gcp-${lane}`,
      ]),
    );
    for (const push of pushes) {
      expect(flag(push.args, 'push-auth-service-account')).toBe(
        `fanout-invoker@${PROJECT}.iam.gserviceaccount.com`,
      );
    }
    expect(invokers.map((step) => [step.args[2], flag(step.args, 'member')])).toEqual(
      ['high', 'medium', 'low'].map((lane) => [
        `fanout-process-gcp-${lane}`,
        `serviceAccount:fanout-invoker@${PROJECT}.iam.gserviceaccount.com`,
      ]),
    );
  });

  it('lets the AWS functions and the processor publish to every lane, and Pub/Sub dead-letter from every lane', () => {
    // Act
    const bindings = gcloudSteps
      .filter((step) => step.args.includes('add-iam-policy-binding') && step.args[0] === 'pubsub')
      .map((step) => `${step.args[3]} ${flag(step.args, 'role')} ${flag(step.args, 'member')}`);

    // Assess
    // ${PROJECT_NUMBER} is captured while the deploy runs.
    const agent = `serviceAccount:service-\${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
    for (const lane of ['high', 'medium', 'low']) {
      expect(bindings).toContain(
        `fanout-gcp-${lane} roles/pubsub.publisher serviceAccount:fanout-publisher@${PROJECT}.iam.gserviceaccount.com`,
      );
      expect(bindings).toContain(
        `fanout-gcp-${lane} roles/pubsub.publisher serviceAccount:fanout-processor@${PROJECT}.iam.gserviceaccount.com`,
      );
      expect(bindings).toContain(`fanout-gcp-${lane} roles/pubsub.subscriber ${agent}`);
    }
    expect(bindings).toContain(`fanout-gcp-dlq roles/pubsub.publisher ${agent}`);
  });

  it('prints, for --dry-run, a bash script that parses', async () => {
    // Prepare
    const script = renderShellScript(steps, inputs.gcp);

    // Act
    const check = promisify(execFile)('bash', ['-n', '-c', script]);

    // Assess
    await expect(check).resolves.toBeDefined();
    expect(script).toContain('if gcloud iam service-accounts describe fanout-processor@');
    expect(script).toContain('DELETED) gcloud iam workload-identity-pools undelete fanout-aws');
    expect(parse(script.split("<<'YAML'\n")[1]?.split('\nYAML')[0] ?? '')).toMatchObject({ TARGET: 'gcp' });
  });

  it('runs as `npm run deploy:gcp -- --dry-run`: prints the plan and runs nothing', async () => {
    // Act
    const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT, ...FLAGS, '--dry-run'], {
      env: { PATH: '/nonexistent' },
    });

    // Assess
    expect(stdout).toMatch(/^#!\/usr\/bin\/env bash/);
    expect(stdout).toContain('gcloud functions deploy fanout-process-gcp-low --gen2');
  });

  it('exits 2 naming the bad inputs, before running anything', async () => {
    // Act
    const run = promisify(execFile)(process.execPath, [SCRIPT, '--project', 'acme-fanout'], {
      env: { PATH: '/nonexistent' },
    });

    // Assess
    await expect(run).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--region (or GOOGLE_CLOUD_REGION): required'),
    });
  });
});

/** gcloud as the deploy sees it, over a project that holds what its creates made. */
class FakeGcloud {
  readonly calls: string[][] = [];
  /** Resources by id, with what their describe prints. */
  readonly resources = new Map<string, string>();
  /** Answers for the next calls whose arguments include the key, taken in order. */
  readonly scripted = new Map<string, (() => string)[]>();

  readonly run = async (args: GcloudArgs): Promise<string> => {
    this.calls.push([...args]);
    const script = [...this.scripted.entries()].find(([key]) => args.includes(key))?.[1].shift();
    if (script !== undefined) return script();
    const verb = args.find((arg) => ['describe', 'create', 'create-aws', 'undelete'].includes(arg));
    const id = verb === undefined ? undefined : args[args.indexOf(verb) + 1]?.split('@')[0];
    if (args[0] === 'projects') return '123456789012\n';
    if (args[0] === 'functions' && verb === 'describe') return `https://${id}-xyz.a.run.app\n`;
    if (args.includes('--format=value(uniqueId)')) return '109876543210987654321\n';
    if (verb === 'describe' && id !== undefined) {
      const found = this.resources.get(id);
      if (found === undefined) throw new GcloudError(args, `ERROR: (gcloud) NOT_FOUND: ${id} was not found`);
      return `${found}\n`;
    }
    if (verb !== undefined && id !== undefined) this.resources.set(id, 'ACTIVE');
    return '';
  };

  verbsOf(prefix: string): string[] {
    return this.calls
      .filter((args) => args.includes(prefix))
      .map(
        (args) =>
          args.find((arg) => /^(describe|create|create-aws|update|update-aws|undelete)$/.test(arg)) ?? '',
      );
  }
}

describe('running the deploy', () => {
  const inputs = parseDeployGcpInputs(FLAGS, {});
  const steps = planGcpDeploy(inputs, WORK_DIR);
  const pubsub = pubsubForThisFile(PROJECT);

  const runner = (gcloud: FakeGcloud, waits: number[] = []) => ({
    gcloud: gcloud.run,
    provisionPubSub: async () => {
      await provisionGcp(inputs.gcp, pubsub.clients.pubsub);
    },
    bundle: async () => {},
    writeFile: async () => {},
    log: () => {},
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  });

  it("provisions each lane's topic and subscription with the dead-letter topic, retry policy and ack deadline on the Pub/Sub emulator", async () => {
    // Prepare
    const gcloud = new FakeGcloud();
    const [target] = inputs.gcp.targets;

    // Act
    const variables = await runGcpDeploy(steps, runner(gcloud));

    // Assess
    for (const lane of Object.values(target?.lanes ?? {})) {
      const [subscription] = await pubsub.clients.pubsub.subscription(lane.subscription).getMetadata();
      expect(subscription.topic).toBe(`projects/${PROJECT}/topics/fanout-gcp-${lane.lane}`);
      expect(subscription.ackDeadlineSeconds).toBe(target?.ackDeadlineSeconds);
      expect(subscription.deadLetterPolicy).toMatchObject({
        deadLetterTopic: `projects/${PROJECT}/topics/fanout-gcp-dlq`,
        maxDeliveryAttempts: target?.maxDeliveryAttempts,
      });
      expect(Number(subscription.retryPolicy?.minimumBackoff?.seconds)).toBe(target?.minimumBackoffSeconds);
      expect(Number(subscription.retryPolicy?.maximumBackoff?.seconds)).toBe(target?.maximumBackoffSeconds);
    }
    const [deadLetters] = await pubsub.clients.pubsub
      .subscription(target?.deadLetterSubscription ?? '')
      .getMetadata();
    expect(deadLetters.topic).toBe(`projects/${PROJECT}/topics/fanout-gcp-dlq`);
    expect(variables).toEqual({
      PROJECT_NUMBER: '123456789012',
      FUNCTION_URL_GCP_HIGH: 'https://fanout-process-gcp-high-xyz.a.run.app',
      FUNCTION_URL_GCP_MEDIUM: 'https://fanout-process-gcp-medium-xyz.a.run.app',
      FUNCTION_URL_GCP_LOW: 'https://fanout-process-gcp-low-xyz.a.run.app',
      PROCESSOR_UNIQUE_ID: '109876543210987654321',
    });
  });

  it('is idempotent: a second run describes, updates and creates nothing, and leaves one of each Pub/Sub resource', async () => {
    // Prepare
    const gcloud = new FakeGcloud();
    await runGcpDeploy(steps, runner(gcloud));
    const first = gcloud.calls.length;

    // Act
    await runGcpDeploy(steps, runner(gcloud));

    // Assess
    const second = gcloud.calls.slice(first);
    expect(second.filter((args) => args.includes('create') || args.includes('create-aws'))).toEqual([]);
    expect(gcloud.verbsOf('workload-identity-pools')).toEqual([
      'describe',
      'create',
      'describe',
      'create-aws',
      'describe',
      'update',
      'describe',
      'update-aws',
    ]);
    const [topics] = await pubsub.clients.pubsub.getTopics();
    const [subscriptions] = await pubsub.clients.pubsub.getSubscriptions();
    expect(topics).toHaveLength(5);
    expect(subscriptions).toHaveLength(4);
    expect(
      second.find(
        (args) => args.includes('push-endpoint') || args.some((a) => a.startsWith('--push-endpoint=')),
      ),
    ).toContain(
      `--push-endpoint=https://fanout-process-gcp-high-xyz.a.run.app/projects/${PROJECT}/topics/fanout-gcp-high`,
    );
  });

  it('undeletes a soft-deleted workload identity pool, then updates it', async () => {
    // Prepare
    const gcloud = new FakeGcloud();
    gcloud.resources.set('fanout-aws', 'DELETED');

    // Act
    await runGcpDeploy(steps, runner(gcloud));

    // Assess
    expect(gcloud.verbsOf('workload-identity-pools').slice(0, 3)).toEqual(['describe', 'undelete', 'update']);
  });

  it('stops at a describe that fails for another reason than not found, creating nothing', async () => {
    // Prepare
    const gcloud = new FakeGcloud();
    gcloud.scripted.set('service-accounts', [
      () => {
        throw new GcloudError(['iam'], 'ERROR: PERMISSION_DENIED: iam.serviceAccounts.get');
      },
    ]);

    // Act
    const run = runGcpDeploy(steps, runner(gcloud));

    // Assess
    await expect(run).rejects.toThrow(/PERMISSION_DENIED/);
    expect(gcloud.calls.some((args) => args.includes('create'))).toBe(false);
  });

  it('waits and tries a binding again while a service account made a moment ago is not yet visible', async () => {
    // Prepare
    const gcloud = new FakeGcloud();
    const waits: number[] = [];
    gcloud.scripted.set('add-iam-policy-binding', [
      () => {
        throw new GcloudError(
          ['pubsub'],
          'ERROR: INVALID_ARGUMENT: Service account fanout-publisher does not exist.',
        );
      },
    ]);

    // Act
    await runGcpDeploy(steps, runner(gcloud, waits));

    // Assess
    expect(waits).toEqual([5000]);
    const bindings = gcloud.calls.filter((args) => args.includes('add-iam-policy-binding'));
    expect(bindings[0]).toEqual(bindings[1]);
  });
});

describe('the Google function source', () => {
  it('bundles to an ES module that registers processGcp with the Functions Framework, and pins the packages left out', async () => {
    // Prepare: Cloud Build installs the dependencies; here the project's own stand in for them.
    const workDir = mkdtempSync(join(tmpdir(), 'fanout-gcf-'));
    const outDir = join(workDir, 'function');
    onTestFinished(() => rmSync(workDir, { recursive: true, force: true }));
    const environment = planGcpDeploy(parseDeployGcpInputs(FLAGS, {}), WORK_DIR).find(
      (step) => step.kind === 'env-file',
    );

    // Act
    await bundleGoogleFunction(ROOT, outDir);
    symlinkSync(join(ROOT, 'node_modules'), join(outDir, 'node_modules'));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "await import('./index.js'); const { getFunction } = await import('@google-cloud/functions-framework/testing'); console.log(typeof getFunction('processGcp'))",
      ],
      {
        cwd: outDir,
        env: {
          PATH: process.env.PATH,
          METADATA_SERVER_DETECTION: 'none',
          ...(environment?.kind === 'env-file' ? environment.values : {}),
        },
      },
    );

    // Assess
    expect(stdout.trim()).toBe('function');
    const manifest = JSON.parse(readFileSync(join(outDir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ type: 'module', main: 'index.js' });
    expect(Object.keys(manifest.dependencies).sort()).toEqual([
      '@google-cloud/functions-framework',
      '@google-cloud/pubsub',
      'google-auth-library',
    ]);
    for (const version of Object.values(manifest.dependencies)) expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
