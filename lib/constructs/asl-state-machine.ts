import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeWildcards, nagText, referenceFrom } from '../nag.ts';

/** Properties of an {@link AslStateMachine}. */
export interface AslStateMachineProps {
  /** Path of the Amazon States Language file (JSONPath, `${Key}` placeholders). */
  readonly definitionFile: string;
  /** Values for every `${Key}` placeholder in the definition. */
  readonly substitutions: Record<string, string>;
  /** Key that encrypts the execution log group. */
  readonly logEncryptionKey: kms.IKey;
  /**
   * Lambda functions the definition invokes (`arn:aws:states:::lambda:invoke`).
   * @default - none
   */
  readonly invokes?: readonly lambda.IFunction[];
  /**
   * Topics the definition publishes to (`arn:aws:states:::sns:publish`).
   * @default - none
   */
  readonly publishesTo?: readonly sns.ITopic[];
  /**
   * State machines the definition runs to completion as nested executions
   * (`arn:aws:states:::states:startExecution.sync:2`).
   * @default - none
   */
  readonly runs?: readonly sfn.IStateMachine[];
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** Reads an ASL file and checks it against the substitutions, with errors naming the file and the key. */
export function readDefinition(file: string, substitutions: Record<string, string>): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`AslStateMachine definitionFile: cannot read ${file}: ${(err as Error).message}`);
  }
  const used = new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  const missing = [...used].filter((key) => !(key in substitutions));
  if (missing.length > 0) {
    throw new Error(
      `AslStateMachine substitutions: ${basename(file)} uses ${missing.map((k) => `\${${k}}`).join(', ')} ` +
        `but no value is given (given: ${Object.keys(substitutions).sort().join(', ') || 'none'})`,
    );
  }
  try {
    // Placeholders may stand for numbers outside quotes; any literal keeps the JSON check meaningful.
    const parsed = JSON.parse(text.replace(PLACEHOLDER, '0')) as { StartAt?: unknown; States?: unknown };
    if (typeof parsed.StartAt !== 'string' || typeof parsed.States !== 'object' || parsed.States === null) {
      throw new Error('it needs "StartAt" and "States"');
    }
  } catch (err) {
    throw new Error(
      `AslStateMachine definitionFile: ${file} is not a valid state machine: ${(err as Error).message}`,
    );
  }
  return text;
}

/**
 * A Standard state machine whose definition is an ASL file from `pipelines/`, with every execution logged
 * (level ALL, without execution data) to an encrypted log group and traced with X-Ray. The definition is
 * kept inline in the template, so the synthesized template carries the exact ASL that runs.
 */
export class AslStateMachine extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AslStateMachineProps) {
    super(scope, id);
    const definition = readDefinition(props.definitionFile, props.substitutions);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions: props.substitutions,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });

    acknowledgeWildcards(
      this.stateMachine,
      ['Resource::*'],
      'CloudWatch Logs delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and X-Ray ' +
        '(PutTraceSegments, GetSampling*) actions that Step Functions needs for logging and tracing do not ' +
        'support resource-level permissions.',
    );
    for (const fn of props.invokes ?? []) {
      fn.grantInvoke(this.stateMachine);
      acknowledgeWildcards(
        this.stateMachine,
        [`Resource::${nagText(this, referenceFrom(this, fn, fn.functionArn))}:*`],
        `grantInvoke adds the qualified form (:version/:alias) of the ${fn.node.id} function; it is still ` +
          'that one function.',
      );
    }
    const children = props.runs ?? [];
    for (const child of children) {
      child.grantStartExecution(this.stateMachine);
      // `.sync` polls the child's execution and may stop it when the parent is stopped.
      const executions = Stack.of(this).formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${Stack.of(this).splitArn(child.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [executions],
        }),
      );
      acknowledgeWildcards(
        this.stateMachine,
        [`Resource::${nagText(this, executions)}`],
        `A nested execution's ARN is only known once it starts; the grant covers executions of the ${child.node.id} state machine only.`,
      );
    }
    if (children.length > 0) {
      // Step Functions learns that a nested execution ended through this managed EventBridge rule.
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          resources: [
            Stack.of(this).formatArn({
              service: 'events',
              resource: 'rule',
              resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
            }),
          ],
        }),
      );
    }
    for (const topic of props.publishesTo ?? []) {
      topic.grantPublish(this.stateMachine);
      acknowledgeWildcards(
        this.stateMachine,
        ['Action::kms:GenerateDataKey*'],
        'Publishing to a KMS-encrypted topic needs kms:GenerateDataKey*; the grant is limited to the topic key.',
      );
    }
  }
}

/**
 * Lets a state machine run its Distributed Maps: each map starts its batches as child executions of
 * the machine itself (StartExecution on itself; Describe and Stop on its executions). The machine's
 * name is generated from its logical id at deploy time (`<logical id>-<suffix>`); naming it through
 * its own ARN would make its role's policy and the machine depend on each other, so the grant names
 * it by that logical id's prefix. `why` says what the maps do, for the cdk-nag acknowledgement.
 */
export function grantOwnMapRuns(machine: sfn.StateMachine, why: string): string[] {
  const stack = Stack.of(machine);
  const name = `${stack.getLogicalId(machine.node.defaultChild as sfn.CfnStateMachine)}-*`;
  const self = stack.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const executions = stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  machine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [self] }));
  machine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [executions],
    }),
  );
  const findings = [`Resource::${nagText(machine, self)}`, `Resource::${nagText(machine, executions)}`];
  acknowledgeWildcards(
    machine,
    findings,
    `${why} Each map starts its batches as child executions of this state machine, whose generated name is ` +
      'its logical id followed by a suffix chosen at deploy time, and whose child executions are named at run time.',
  );
  return findings;
}
