import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Properties of {@link OperatorAlerts}. */
export interface OperatorAlertsProps {
  /**
   * An e-mail address subscribed to the topic (the subscription must be confirmed from the mailbox).
   * @default - no subscription
   */
  readonly email?: string;
  /**
   * What happens to the topic's key when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The operators' SNS topic: alarms, failed pipelines and rollbacks publish here. It has its own key
 * because CloudWatch alarms can only publish to an encrypted topic when the key policy trusts the
 * CloudWatch service principal, and that trust should not extend to the data key.
 */
export class OperatorAlerts extends Construct {
  /** The operator topic. */
  public readonly topic: sns.Topic;
  /** The key that encrypts the topic. */
  public readonly encryptionKey: kms.Key;

  constructor(scope: Construct, id: string, props: OperatorAlertsProps = {}) {
    super(scope, id);
    if (props.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.email)) {
      throw new Error(`OperatorAlerts email: "${props.email}" is not an e-mail address`);
    }
    this.encryptionKey = new kms.Key(this, 'Key', {
      description: 'Encrypts the operator alert topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Only alarms of this account and region may use the key (the confused-deputy guard): without the
    // source conditions any account's alarm could publish through CloudWatch with it.
    const stack = Stack.of(this);
    this.encryptionKey.grant(
      new iam.PrincipalWithConditions(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: {
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      }),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'ML platform operator alerts',
      masterKey: this.encryptionKey,
      enforceSSL: true,
    });
    if (props.email) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
  }
}
