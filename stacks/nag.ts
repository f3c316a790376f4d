import type { Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { NagSuppressions } from "cdk-nag";

/** SST adds a stack-metadata custom resource to every stack; its Lambda and role are SST's, not ours. */
export function suppressSstInternals(stack: Stack): void {
  const handler = stack.node.tryFindChild("CustomResourceHandler");
  if (!handler) return;
  NagSuppressions.addResourceSuppressions(
    handler,
    [
      { id: "AwsSolutions-IAM4", reason: "SST's own stack-metadata custom resource uses the basic Lambda execution role." },
      { id: "AwsSolutions-L1", reason: "SST's own stack-metadata custom resource; its runtime is pinned by SST v2." },
    ],
    true,
  );
}

/** CDK's own singleton that turns on the bucket's EventBridge notifications (call after the bucket exists). */
export function suppressBucketNotificationsHandler(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith("BucketNotificationsHandler")) continue;
    NagSuppressions.addResourceSuppressions(
      child,
      [
        {
          id: "AwsSolutions-IAM4",
          reason: "CDK's built-in handler that enables S3 -> EventBridge notifications; it only writes its own logs.",
          appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        },
        { id: "AwsSolutions-IAM5", reason: "CDK's built-in handler: s3:PutBucketNotification has no narrower form it uses." },
      ],
      true,
    );
  }
}

/** An EC2 instance role whose only permission is Session Manager (AWS's maintained minimum for it). */
export function sessionManagerRole(scope: Construct, id: string, description: string): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
    description,
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore")],
  });
  NagSuppressions.addResourceSuppressions(role, [
    {
      id: "AwsSolutions-IAM4",
      reason: "AmazonSSMManagedInstanceCore is AWS's maintained minimum for Session Manager, the only way in (no SSH).",
      appliesTo: ["Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore"],
    },
  ]);
  return role;
}
