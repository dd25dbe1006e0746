import { type App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readStackConfig } from './config.ts';
import { FanoutStack } from './fanout-stack.ts';

/**
 * Adds the Fanout stack to an app, configured from the app's context, with cdk-nag's AwsSolutions rules
 * checking every resource. Environment-agnostic: it synthesizes without AWS credentials, and deploys to
 * the account and region of the credentials `cdk deploy` runs with.
 */
export const addFanoutStack = (app: App): FanoutStack => {
  const config = readStackConfig(app.node.getAllContext());
  const stack = new FanoutStack(app, 'Fanout', {
    stackName: config.resources.prefix,
    description: `Fanout (${config.resources.prefix}): serverless fan-out processing across AWS and Google Cloud`,
    config,
  });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return stack;
};
