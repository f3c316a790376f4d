import type { Stack } from "aws-cdk-lib";
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
