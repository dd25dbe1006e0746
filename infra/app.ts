import { App } from 'aws-cdk-lib';
import { StackConfigError } from './config.ts';
import { addFanoutStack } from './fanout-app.ts';

// The CDK app `cdk synth` and `cdk deploy` run (see cdk.json); the context configures it.
try {
  addFanoutStack(new App());
} catch (error) {
  if (!(error instanceof StackConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
