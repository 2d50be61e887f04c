/**
 * Helpers for cdk-nag acknowledgements. cdk-nag names each IAM wildcard finding after the policy text as
 * it appears in the synthesized template (`AwsSolutions-IAM5[Resource::<Bucket.Arn>/curated/*]`), so an
 * acknowledgement has to be written in that same form. These helpers compute it from the values the
 * grant used, so acknowledgements stay exact when logical ids, stack names or stages change.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct, type IConstruct } from 'constructs';

/** Registers the AWS Solutions rule pack; any unacknowledged finding then fails synth. */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** The construct that owns the IAM policy of a grantee (a function's or state machine's role). */
export function policyOwner(grantee: IGrantable): IConstruct {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) return principal;
  if (Construct.isConstruct(grantee)) return grantee;
  throw new Error('policyOwner: the grantee must be a construct or have a construct as its principal');
}

/**
 * `value` as `consumer`'s stack will see it: unchanged in the producer's own stack, otherwise the
 * `Fn::ImportValue` of the export that CDK creates for the cross-stack reference anyway.
 */
export function referenceFrom(consumer: IConstruct, producer: IConstruct, value: string): string {
  const producerStack = Stack.of(producer);
  return Stack.of(consumer) === producerStack ? value : producerStack.exportValue(value);
}

/** Renders a (possibly tokenized) string the way cdk-nag prints it in a finding id. */
export function nagText(consumer: IConstruct, value: string): string {
  return flatten(Stack.of(consumer).resolve(value));
}

/**
 * Acknowledges IAM5 (wildcard) findings on the policy of `grantee`.
 *
 * @param findings finding texts such as `Action::s3:GetObject*` or `Resource::<Fn.Arn>:*`
 * @param reason why the wildcard cannot be narrower
 */
export function acknowledgeWildcards(grantee: IGrantable, findings: readonly string[], reason: string): void {
  const owner = policyOwner(grantee);
  for (const finding of new Set(findings)) {
    Validations.of(owner).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}

function flatten(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (Array.isArray(obj['Fn::Join'])) {
      const [delimiter, items] = obj['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (obj['Fn::Sub'] !== undefined) return flatten(obj['Fn::Sub']);
    if (Array.isArray(obj['Fn::GetAtt'])) {
      const [resource, attribute] = obj['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (obj['Fn::ImportValue'] !== undefined) return flatten(obj['Fn::ImportValue']);
    if (obj.Ref !== undefined) return `<${flatten(obj.Ref)}>`;
  }
  return JSON.stringify(node);
}

/**
 * Lets `grantee` write items of a DynamoDB table encrypted with `key` (a customer-managed key):
 * DynamoDB needs the key's data-key and re-encrypt action groups for that, whose wildcards are
 * acknowledged here with the table named. `Table.grant` leaves the table's key out.
 */
export function grantTableKeyWrite(key: IKey, grantee: IGrantable, table: string): void {
  key.grant(
    grantee,
    'kms:Decrypt',
    'kms:DescribeKey',
    'kms:Encrypt',
    'kms:ReEncrypt*',
    'kms:GenerateDataKey*',
  );
  acknowledgeWildcards(
    grantee,
    ['Action::kms:ReEncrypt*', 'Action::kms:GenerateDataKey*'],
    'DynamoDB with a customer-managed key needs the GenerateDataKey*/ReEncrypt* action groups to write; ' +
      `the grant is limited to the ${table} key.`,
  );
}
