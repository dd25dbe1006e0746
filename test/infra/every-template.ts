import { Match } from 'aws-cdk-lib/assertions';
import { expect, it } from 'vitest';
import {
  leastPrivilegeViolations,
  managedPolicyHolders,
  permissionStatements,
  type TemplateJson,
} from './iam-statements.ts';
import { cfnLint, type Synthesized } from './synth.ts';

/** The cdk-nag rules the stack acknowledges on purpose (infra/nag-acknowledgements.ts gives the reasons). */
export const ACKNOWLEDGED_NAG_RULES = ['AwsSolutions-IAM5', 'AwsSolutions-SQS3'];

interface NagSuppression {
  id: string;
  reason: string;
  applies_to?: unknown[];
}

const nagSuppressions = (template: Synthesized['template']): NagSuppression[] =>
  Object.values(
    template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>,
  ).flatMap(
    (resource) =>
      ((resource.Metadata?.cdk_nag as { rules_to_suppress?: NagSuppression[] } | undefined)
        ?.rules_to_suppress ?? []) as NagSuppression[],
  );

/**
 * The checks every synthesized template must pass, whatever its configuration: least privilege, cdk-nag's
 * AwsSolutions rules and cfn-lint.
 */
export const checkEveryTemplate = (synthesized: () => Synthesized): void => {
  it('grants no wildcard action, and "*" resources only to actions that have no resource-level permissions', () => {
    // Prepare
    const template = synthesized().template.toJSON() as TemplateJson;

    // Act
    const statements = permissionStatements(template);

    // Assess
    expect(statements.length).toBeGreaterThan(0);
    expect(leastPrivilegeViolations(statements)).toEqual([]);
    expect(managedPolicyHolders(template)).toEqual([]);
  });

  it('has no unacknowledged cdk-nag AwsSolutions error or warning', () => {
    // Prepare
    const { annotations } = synthesized();

    // Act
    const errors = annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-'));
    const warnings = annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-'));

    // Assess
    expect(errors.map((error) => error.entry.data)).toEqual([]);
    expect(warnings.map((warning) => warning.entry.data)).toEqual([]);
  });

  it('acknowledges only the expected cdk-nag rules, each with a specific reason', () => {
    // Act
    const suppressions = nagSuppressions(synthesized().template);

    // Assess
    expect(suppressions.length).toBeGreaterThan(0);
    expect([...new Set(suppressions.map((s) => s.id))].sort()).toEqual(ACKNOWLEDGED_NAG_RULES);
    for (const suppression of suppressions) expect(suppression.reason.length).toBeGreaterThan(80);
    for (const suppression of suppressions.filter((s) => s.id === 'AwsSolutions-IAM5')) {
      expect(suppression.applies_to?.length).toBeGreaterThan(0);
    }
  });

  it('passes cfn-lint with no error', async () => {
    // Act
    const findings = await cfnLint(synthesized().template);

    // Assess
    expect(findings.filter((finding) => finding.Level === 'Error')).toEqual([]);
  });
};
