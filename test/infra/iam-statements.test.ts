import { describe, expect, it } from 'vitest';
import { leastPrivilegeViolations, managedPolicyHolders, permissionStatements } from './iam-statements.ts';

const template = (statements: unknown[], roleProperties: Record<string, unknown> = {}) => ({
  Resources: {
    Role: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: '*' }],
        },
        ...roleProperties,
      },
    },
    Policy: { Type: 'AWS::IAM::Policy', Properties: { PolicyDocument: { Statement: statements } } },
  },
});

describe('the least-privilege check of the infra tests', () => {
  it('finds statements of policies and of roles’ inline policies, not of trust policies', () => {
    // Prepare
    const inline = {
      Policies: [
        {
          PolicyName: 'inline',
          PolicyDocument: { Statement: { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: 'arn:q' } },
        },
      ],
    };

    // Act
    const found = permissionStatements(
      template([{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:o' }], inline),
    );

    // Assess
    expect(found.map((statement) => statement.where).sort()).toEqual(['Policy', 'Role inline']);
  });

  it.each([
    [{ Effect: 'Allow', Action: '*', Resource: 'arn:x' }, 'Policy: action *'],
    [{ Effect: 'Allow', Action: ['s3:Get*'], Resource: 'arn:x' }, 'Policy: action s3:Get*'],
    [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }, 'Policy: sqs:SendMessage on *'],
    [{ Effect: 'Allow', NotAction: 'iam:*', Resource: 'arn:x' }, 'Policy: NotAction'],
    [{ Effect: 'Allow', Action: 's3:GetObject', NotResource: 'arn:x' }, 'Policy: NotResource'],
  ])('reports %j', (statement, expected) => {
    // Act
    const violations = leastPrivilegeViolations(permissionStatements(template([statement])));

    // Assess
    expect(violations).toContain(expected);
  });

  it('accepts named resources, denials and the allow-listed actions on *', () => {
    // Prepare
    const statements = [
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::bucket/inputs/*' },
      { Effect: 'Allow', Action: 'dynamodb:ListStreams', Resource: '*' },
      { Effect: 'Deny', Action: '*', Resource: '*' },
    ];

    // Act
    const violations = leastPrivilegeViolations(permissionStatements(template(statements)));

    // Assess
    expect(violations).toEqual([]);
  });

  it('reports roles that carry managed policies', () => {
    // Act
    const holders = managedPolicyHolders(
      template([], { ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] }),
    );

    // Assess
    expect(holders).toEqual(['Role']);
  });
});
