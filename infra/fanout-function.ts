import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
} from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FunctionDefinition, ObservabilityDefinition } from '../src/deploy/resources.ts';
import { copyCommands, runtimeModuleDirs } from './runtime-modules.ts';

/** The repository root: the functions' entries, package-lock.json and node_modules are found from it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Node.js 24: the Node the project is developed and tested on (type stripping, the same built-ins), the
 * latest Lambda runtime (cdk-nag's AwsSolutions-L1 asks for it) and the one supported longest.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

/**
 * Packages that read their own files at run time (google-gax loads .proto files from beside its code),
 * so they cannot be bundled: they are copied with their dependencies into the function's node_modules.
 * google-auth-library goes with them so that the credentials the functions build and the ones the
 * Pub/Sub client checks come from one copy.
 */
export const PUBSUB_RUNTIME_MODULES = ['@google-cloud/pubsub', 'google-auth-library'] as const;

// The handlers use top-level await, so they are ES modules; bundled CommonJS dependencies still call
// require() and read __dirname.
const ESM_BANNER = [
  "import { createRequire as __fanoutCreateRequire } from 'node:module';",
  'const require = __fanoutCreateRequire(import.meta.url);',
  'const __filename = import.meta.filename;',
  'const __dirname = import.meta.dirname;',
].join(' ');

export interface FanoutFunctionProps {
  /** The handler module, relative to `functions/` (it exports `handler`), e.g. `ingest/handler.ts`. */
  entry: string;
  /** Name, memory and timeout; the function's role is named after it too. */
  definition: FunctionDefinition;
  /** Powertools' service name, as the handler names itself. */
  serviceName: string;
  observability: ObservabilityDefinition;
  environment: Record<string, string>;
  /** @default [] (everything bundled) */
  runtimeModules?: readonly string[];
  description: string;
}

/**
 * One Lambda function with the settings they all share: Node.js 24 on arm64, an ESM bundle built locally
 * by esbuild (never Docker), JSON logs into a log group of its own with the deployment's retention,
 * Powertools' service and metrics namespace, and a role of its own that can write only to that log group;
 * what else it may do is granted where it is used.
 */
export class FanoutFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FanoutFunctionProps) {
    super(scope, id);
    const { definition, observability } = props;
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${definition.name}`,
      retention: observability.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', {
      roleName: definition.name,
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${definition.name} function`,
    });
    this.logGroup.grantWrite(this.role);
    const runtimeModules = props.runtimeModules ?? [];
    const moduleDirs = runtimeModuleDirs(PROJECT_ROOT, runtimeModules);
    this.function = new NodejsFunction(this, 'Function', {
      functionName: definition.name,
      description: props.description,
      entry: join(PROJECT_ROOT, 'functions', props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: definition.memoryMb,
      timeout: Duration.seconds(definition.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      environment: {
        ...props.environment,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: observability.metricsNamespace,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_BANNER,
        minify: true,
        sourceMap: true,
        logLevel: LogLevel.WARNING,
        // The AWS SDK is bundled too: its version is then the one tested, not the runtime's.
        externalModules: [...runtimeModules],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => copyCommands(inputDir, outputDir, moduleDirs),
        },
      },
    });
  }
}
