import { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { Resources } from '../src/deploy/resources.ts';
import { FanoutFunction } from './fanout-function.ts';

export interface ReconcileFunctionProps {
  resources: Resources;
  environment: Record<string, string>;
  runtimeModules: readonly string[];
  /**
   * Whether the schedule runs it; an emulator deploy leaves it out, as its timer in emulator mode runs
   * the reconciler instead.
   * @default true
   */
  scheduled?: boolean;
}

/**
 * The reconcile function and the EventBridge Scheduler schedule that runs it every minute, with no retry:
 * a run that failed is as good as the next one, a minute later. What it may touch is granted where it
 * is used (the table, and sending to every target's queue).
 */
export class ReconcileFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  /** Undefined when not `scheduled`. */
  readonly schedule: Schedule | undefined;
  /** The role the schedule invokes the function with: it may invoke this function and nothing else. */
  readonly invoker: Role;

  constructor(scope: Construct, id: string, props: ReconcileFunctionProps) {
    super(scope, id);
    const { resources } = props;
    const fn = new FanoutFunction(this, 'Function', {
      observability: resources.observability,
      runtimeModules: props.runtimeModules,
      environment: props.environment,
      entry: 'reconcile/handler.ts',
      definition: resources.functions.reconcile,
      serviceName: 'reconcile',
      description: 'Fanout reconciler: sends stranded tries again and ends jobs whose ingest died',
    });
    this.function = fn.function;
    this.role = fn.role;
    const { reconcileSchedule } = resources;
    this.invoker = new Role(this, 'Invoker', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
      description: `Lets the ${reconcileSchedule.name} schedule invoke the reconcile function`,
    });
    this.schedule =
      props.scheduled === false
        ? undefined
        : new Schedule(this, 'Schedule', {
            scheduleName: reconcileSchedule.name,
            description: 'Runs the Fanout reconciler',
            schedule: ScheduleExpression.rate(Duration.minutes(reconcileSchedule.rateMinutes)),
            target: new LambdaInvoke(this.function, {
              role: this.invoker,
              retryAttempts: 0,
              maxEventAge: Duration.seconds(reconcileSchedule.maxEventAgeSeconds),
            }),
          });
  }
}
