import {
  AlreadyExistsFault,
  AutoScalingServiceException,
  InvalidNextToken,
  LimitExceededFault,
  ResourceContentionFault,
  ResourceInUseFault,
  ScalingActivityInProgressFault,
} from "@aws-sdk/client-auto-scaling";
import {
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException as DynamoDBResourceNotFoundException,
  ThrottlingException as DynamoDBThrottlingException,
} from "@aws-sdk/client-dynamodb";
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import {
  AccessPointNotFoundException,
  ElasticLoadBalancingServiceException,
  InvalidEndPointException,
} from "@aws-sdk/client-elastic-load-balancing";
import {
  ElasticLoadBalancingV2ServiceException,
  InvalidTargetException,
  TargetGroupNotFoundException,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  EventBridgeServiceException,
  InternalException as EventBridgeInternalException,
  ResourceNotFoundException as EventBridgeResourceNotFoundException,
  ThrottlingException as EventBridgeThrottlingException,
} from "@aws-sdk/client-eventbridge";
import { CloudFormationServiceException } from "@aws-sdk/client-cloudformation";
import {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  InvalidExecutionInput,
  InvalidName,
  InvalidToken,
  SFNServiceException,
  StateMachineDoesNotExist,
} from "@aws-sdk/client-sfn";
import {
  InternalErrorException,
  NotFoundException as SnsNotFoundException,
  SNSServiceException,
  ThrottledException,
} from "@aws-sdk/client-sns";

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
  | "CloudFormation";

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
};

type ExceptionCtor = new (options: { message: string; $metadata: object }) => Error;
type BaseExceptionCtor = new (options: { name: string; $fault: "client" | "server"; $metadata: object; message: string }) => Error;

/**
 * Modeled exceptions by wire error code. With the real SDK a modeled error's `name` is the exception class
 * name (`ScalingActivityInProgressFault`) while the query-protocol `Code` is the wire code
 * (`ScalingActivityInProgress`); unmodeled codes (`Throttling`, EC2's `InvalidAMIID.NotFound`) become the
 * service's base exception with `name` = code. The region reproduces exactly that.
 */
const MODELED: Partial<Record<ServiceName, Record<string, ExceptionCtor>>> = {
  AutoScaling: {
    ScalingActivityInProgress: ScalingActivityInProgressFault,
    ResourceInUse: ResourceInUseFault,
    AlreadyExists: AlreadyExistsFault,
    LimitExceeded: LimitExceededFault,
    ResourceContention: ResourceContentionFault,
    InvalidNextToken: InvalidNextToken,
  },
  ELBv2: {
    TargetGroupNotFound: TargetGroupNotFoundException,
    InvalidTarget: InvalidTargetException,
  },
  ELB: {
    LoadBalancerNotFound: AccessPointNotFoundException,
    InvalidInstance: InvalidEndPointException,
  },
  DynamoDB: {
    ConditionalCheckFailedException: ConditionalCheckFailedException,
    ResourceNotFoundException: DynamoDBResourceNotFoundException,
    ThrottlingException: DynamoDBThrottlingException,
    ProvisionedThroughputExceededException: ProvisionedThroughputExceededException,
    RequestLimitExceeded: RequestLimitExceeded,
    InternalServerError: InternalServerError,
  },
  SFN: {
    ExecutionDoesNotExist,
    ExecutionAlreadyExists,
    ExecutionNotRedrivable,
    InvalidExecutionInput,
    InvalidName,
    InvalidToken,
    StateMachineDoesNotExist,
  },
  SNS: { NotFound: SnsNotFoundException, Throttled: ThrottledException, InternalError: InternalErrorException },
  EventBridge: {
    ResourceNotFoundException: EventBridgeResourceNotFoundException,
    ThrottlingException: EventBridgeThrottlingException,
    InternalException: EventBridgeInternalException,
  },
};

const BASE_EXCEPTION: Partial<Record<ServiceName, BaseExceptionCtor>> = {
  AutoScaling: AutoScalingServiceException,
  EC2: EC2ServiceException,
  ELBv2: ElasticLoadBalancingV2ServiceException,
  ELB: ElasticLoadBalancingServiceException,
  DynamoDB: DynamoDBServiceException,
  SFN: SFNServiceException,
  SNS: SNSServiceException,
  EventBridge: EventBridgeServiceException,
  CloudFormation: CloudFormationServiceException,
};

/** Services on the AWS query protocol: their errors also carry `Code`, `Type` and `Error`. */
const QUERY_PROTOCOL: ReadonlySet<ServiceName> = new Set(["AutoScaling", "EC2", "ELBv2", "ELB", "SNS", "CloudFormation"]);

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
};

let requestCounter = 0;

export function nextRequestId(): string {
  requestCounter += 1;
  return `00000000-0000-4000-8000-${requestCounter.toString(16).padStart(12, "0")}`;
}

/**
 * An error shaped as the SDK v3 throws it for `code` from `service`: the SDK's own exception class where
 * one is modeled, else the service's base exception; `$metadata.httpStatusCode`, `$fault`, and for query
 * services `Code`/`Type`. `fields` are extra members (e.g. DynamoDB's `Item`).
 */
export function awsError(service: ServiceName, code: string, message: string, fields: Record<string, unknown> = {}): Error {
  const httpStatusCode = HTTP_STATUS_BY_CODE[code] ?? 400;
  const $fault: "client" | "server" = httpStatusCode >= 500 ? "server" : "client";
  const $metadata = { httpStatusCode, requestId: nextRequestId(), attempts: 1, totalRetryDelay: 0 };
  const Modeled = MODELED[service]?.[code];
  const Base = BASE_EXCEPTION[service];
  let error: Error;
  if (Modeled) {
    error = new Modeled({ message, $metadata });
  } else if (Base) {
    error = new Base({ name: code, $fault, $metadata, message });
  } else {
    error = Object.assign(new Error(message), { name: code, $fault, $metadata });
  }
  Object.assign(error, { $fault }, fields);
  if (QUERY_PROTOCOL.has(service)) {
    const Type = $fault === "server" ? "Receiver" : "Sender";
    Object.assign(error, { Code: code, Type, Error: { Code: code, Type, Message: message } });
  }
  return error;
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
