/** An IAM statement of a template, with where it was found. */
export interface FoundStatement {
  /** `LogicalId` and the policy it is in. */
  where: string;
  statement: {
    Effect?: string;
    Action?: string | string[];
    NotAction?: unknown;
    Resource?: unknown;
    NotResource?: unknown;
  };
}

/**
 * Actions that IAM authorizes only on `"Resource": "*"` (no resource-level permissions), with why the
 * stack needs each. Anything else on `*` is a violation.
 */
export const WILDCARD_RESOURCE_ACTIONS: Record<string, string> = {
  'dynamodb:ListStreams':
    'the DynamoDB stream event source lists the stream; the action has no resource types (Service Authorization Reference)',
};

/** A template as `Template.toJSON()` gives it. */
export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

const statementsOf = (document: unknown): FoundStatement['statement'][] => {
  const statement = (document as { Statement?: unknown } | undefined)?.Statement;
  if (statement === undefined) return [];
  return (Array.isArray(statement) ? statement : [statement]) as FoundStatement['statement'][];
};

/**
 * Every permission statement of a template: AWS::IAM::Policy and AWS::IAM::ManagedPolicy documents and
 * the inline policies of roles, users and groups. Trust policies (who may assume a role) are not
 * permissions and are left out.
 */
export const permissionStatements = (template: TemplateJson): FoundStatement[] =>
  Object.entries(template.Resources).flatMap(([id, resource]) => {
    const properties = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        return statementsOf(properties.PolicyDocument).map((statement) => ({ where: id, statement }));
      case 'AWS::IAM::Role':
      case 'AWS::IAM::User':
      case 'AWS::IAM::Group':
        return ((properties.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[]).flatMap(
          (policy) =>
            statementsOf(policy.PolicyDocument).map((statement) => ({
              where: `${id} ${policy.PolicyName}`,
              statement,
            })),
        );
      default:
        return [];
    }
  });

const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);

/**
 * What breaks least privilege in these statements: a wildcard in an action (`*`, `s3:*`, `s3:Get*`), a
 * `NotAction` or `NotResource`, or `"Resource": "*"` for an action not in {@link WILDCARD_RESOURCE_ACTIONS}.
 */
export const leastPrivilegeViolations = (statements: FoundStatement[]): string[] =>
  statements.flatMap(({ where, statement }) => {
    if (statement.Effect !== 'Allow') return [];
    const found: string[] = [];
    const actions = asList(statement.Action).filter((action): action is string => typeof action === 'string');
    if (statement.NotAction !== undefined) found.push(`${where}: NotAction`);
    if (statement.NotResource !== undefined) found.push(`${where}: NotResource`);
    for (const action of actions.filter((a) => a.includes('*'))) found.push(`${where}: action ${action}`);
    if (asList(statement.Resource).includes('*')) {
      for (const action of actions.filter((a) => !(a in WILDCARD_RESOURCE_ACTIONS))) {
        found.push(`${where}: ${action} on *`);
      }
    }
    return found;
  });

/** Roles that carry managed policies (AWS managed ones are broad by design); the stack's roles use none. */
export const managedPolicyHolders = (template: TemplateJson): string[] =>
  Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
    .filter(
      ([, resource]) => ((resource.Properties?.ManagedPolicyArns as unknown[] | undefined) ?? []).length > 0,
    )
    .map(([id]) => id);
