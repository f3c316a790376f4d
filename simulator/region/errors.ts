/** The services the region answers, as they appear in "Service:Operation" names. */
export type ServiceName =
  | "AutoScaling"
  | "EC2"
  | "ELBv2"
  | "ELB"
  | "DynamoDB"
  | "SFN"
  | "SNS"
  | "EventBridge"
  | "S3"
  | "CodeBuild"
  | "CloudFormation"
  | "CloudWatch";

/** SDK v3 client class name -> service name. */
export const SERVICE_BY_CLIENT: Readonly<Record<string, ServiceName>> = {
  AutoScalingClient: "AutoScaling",
  EC2Client: "EC2",
  ElasticLoadBalancingV2Client: "ELBv2",
  ElasticLoadBalancingClient: "ELB",
  DynamoDBClient: "DynamoDB",
  SFNClient: "SFN",
  SNSClient: "SNS",
  EventBridgeClient: "EventBridge",
  S3Client: "S3",
  CodeBuildClient: "CodeBuild",
  CloudFormationClient: "CloudFormation",
  CloudWatchClient: "CloudWatch",
};

const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  InternalError: 500,
  InternalFailure: 500,
  InternalServerError: 500,
  InternalException: 500,
  ServiceUnavailable: 503,
  ServiceUnavailableException: 503,
  Unavailable: 503,
  RequestLimitExceeded: 503,
  NotFound: 404,
  // S3 (Amazon S3 API Reference, "Error responses"): 404 Not Found.
  NoSuchBucket: 404,
  NoSuchKey: 404,
  // Auto Scaling answers ResourceContention with HTTP 500 (API reference, e.g. DetachTrafficSources "Errors").
  ResourceContention: 500,
};

/**
 * An AWS error as the region raises it: the wire code, the message, the HTTP status the service answers with,
 * and extra members (DynamoDB's `Item`). The transport writes it in the service's protocol (query XML, EC2
 * XML, JSON with `x-amzn-ErrorType`), so what the caller gets is whatever the real SDK makes of that answer:
 * the modeled exception class where the model has one (`ScalingActivityInProgressFault` for the code
 * `ScalingActivityInProgress`), else the service's base exception named after the code.
 */
export class RegionError extends Error {
  readonly httpStatusCode: number;
  readonly fault: "client" | "server";

  constructor(
    readonly service: ServiceName,
    readonly code: string,
    message: string,
    readonly fields: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
    this.httpStatusCode = HTTP_STATUS_BY_CODE[code] ?? 400;
    this.fault = this.httpStatusCode >= 500 ? "server" : "client";
  }
}

/**
 * Thrown by an after-call hook (region.answer's `crashAfter` hooks) to lose the answer of a call that took
 * effect: the transport then never answers that request, as when a connection drops after AWS acted. The caller
 * waits until its own timeout strikes (in a stage function: the Lambda's, or middy's just before it).
 */
export class LostResponse extends Error {
  constructor(readonly operation: string) {
    super(`the answer to ${operation} was lost after the region acted`);
    this.name = "LostResponse";
  }
}

export function awsError(service: ServiceName, code: string, message: string, fields: Record<string, unknown> = {}): RegionError {
  return new RegionError(service, code, message, fields);
}

/** Each service's "it does not exist" code, used by the `NotFound` fault and by handlers. */
export const NOT_FOUND_CODE: Readonly<Record<ServiceName, string>> = {
  AutoScaling: "ValidationError",
  EC2: "InvalidParameterValue",
  ELBv2: "TargetGroupNotFound",
  ELB: "LoadBalancerNotFound",
  DynamoDB: "ResourceNotFoundException",
  SFN: "ExecutionDoesNotExist",
  SNS: "NotFound",
  EventBridge: "ResourceNotFoundException",
  S3: "NoSuchKey",
  CodeBuild: "ResourceNotFoundException",
  CloudFormation: "ValidationError",
  CloudWatch: "ResourceNotFound",
};

/** EC2's NotFound code for the resource an operation addresses (EC2 codes name the resource type). */
export const EC2_NOT_FOUND_BY_OPERATION: Readonly<Record<string, string>> = {
  DescribeImages: "InvalidAMIID.NotFound",
  DeregisterImage: "InvalidAMIID.NotFound",
  DescribeSnapshots: "InvalidSnapshot.NotFound",
  DeleteSnapshot: "InvalidSnapshot.NotFound",
  DescribeLaunchTemplates: "InvalidLaunchTemplateId.NotFound",
  DescribeLaunchTemplateVersions: "InvalidLaunchTemplateId.VersionNotFound",
  CreateLaunchTemplateVersion: "InvalidLaunchTemplateId.NotFound",
  ModifyLaunchTemplate: "InvalidLaunchTemplateId.NotFound",
  DeleteLaunchTemplateVersions: "InvalidLaunchTemplateId.NotFound",
  DescribeInstances: "InvalidInstanceID.NotFound",
  TerminateInstances: "InvalidInstanceID.NotFound",
  CreateTags: "InvalidID",
};
