/**
 * The services' API models, as the npm `aws-sdk` v2 ships them (`aws-sdk/apis/<id>.min.json`): operations, shapes
 * and the serialization traits the wire needs (`locationName`, `queryName`, `flattened`, `timestampFormat`,
 * `resultWrapper`, the XML namespace, the JSON target prefix). The transport reads requests and writes answers
 * from these, never from a hand-written table per operation.
 */
import { createRequire } from "node:module";
import type { ServiceName } from "../errors.js";

/** A shape or a reference to one (`shape`), with the referring member's own traits; no `type` means string. */
export interface ShapeNode {
  shape?: string;
  type?: string;
  members?: Record<string, ShapeNode>;
  member?: ShapeNode;
  key?: ShapeNode;
  value?: ShapeNode;
  locationName?: string;
  queryName?: string;
  xmlName?: string;
  flattened?: boolean;
  timestampFormat?: string;
  resultWrapper?: string;
}

export interface ServiceModel {
  metadata: {
    apiVersion: string;
    protocol: "query" | "ec2" | "json" | "rest-xml" | "rest-json";
    serviceId?: string;
    /** The endpoint's prefix, which is also the service's SigV4 signing name for every service the region answers. */
    endpointPrefix?: string;
    xmlNamespace?: string;
    targetPrefix?: string;
    jsonVersion?: string;
    /** Smithy's `aws.protocols#awsQueryCompatible`: JSON on the wire, errors also named by their query code. */
    awsQueryCompatible?: boolean;
  };
  operations: Record<string, { input?: ShapeNode; output?: ShapeNode; http?: { method: string; requestUri: string } }>;
  shapes: Record<string, ShapeNode>;
}

/** `aws-sdk/apis/<id>.min.json` of each service the region answers over the wire. */
export const MODEL_IDS: Partial<Record<ServiceName, string>> = {
  AutoScaling: "autoscaling-2011-01-01",
  EC2: "ec2-2016-11-15",
  ELB: "elasticloadbalancing-2012-06-01",
  ELBv2: "elasticloadbalancingv2-2015-12-01",
  DynamoDB: "dynamodb-2012-08-10",
  SFN: "states-2016-11-23",
  SNS: "sns-2010-03-31",
  EventBridge: "eventbridge-2015-10-07",
  CodeBuild: "codebuild-2016-10-06",
  CloudFormation: "cloudformation-2010-05-15",
  S3: "s3-2006-03-01",
  CloudWatch: "monitoring-2010-08-01",
};

/**
 * Where the SDK v3 client speaks another protocol than the v2 model says. CloudWatch's v2 model is `query`, but
 * the installed @aws-sdk/client-cloudwatch (3.1164.0) sends awsJson1_0 (`protocol: AwsJson1_0Protocol`,
 * `serviceTarget: "GraniteServiceVersion20100801"`, `awsQueryCompatible: true` in its runtime config): the same
 * operations, shapes and member names, as JSON.
 */
const PROTOCOL_OVERRIDES: Partial<Record<ServiceName, Partial<ServiceModel["metadata"]>>> = {
  CloudWatch: { protocol: "json", jsonVersion: "1.0", targetPrefix: "GraniteServiceVersion20100801", awsQueryCompatible: true },
};

/**
 * Members newer than aws-sdk v2's models that the stage functions use, as @aws-sdk/client-ec2 (3.1169) serializes
 * them (its schema in dist-cjs: query member `DeleteAssociatedSnapshots`; XML `deleteSnapshotResultSet` of `item`s
 * with `snapshotId` and `returnCode`). Without them the region would drop the flag and never answer the results.
 */
const OPERATION_ADDITIONS: Partial<Record<ServiceName, Record<string, { input?: Record<string, ShapeNode>; output?: Record<string, ShapeNode> }>>> = {
  EC2: {
    DeregisterImage: {
      input: { DeleteAssociatedSnapshots: { type: "boolean" } },
      output: {
        Return: { locationName: "return", type: "boolean" },
        DeleteSnapshotResults: {
          locationName: "deleteSnapshotResultSet",
          type: "list",
          member: { locationName: "item", type: "structure", members: { SnapshotId: { locationName: "snapshotId" }, ReturnCode: { locationName: "returnCode" } } },
        },
      },
    },
  },
};

function withAdditions(service: ServiceName, model: ServiceModel): ServiceModel {
  const additions = OPERATION_ADDITIONS[service];
  if (!additions) return model;
  const operations = { ...model.operations };
  for (const [name, { input, output }] of Object.entries(additions)) {
    const operation = operations[name];
    operations[name] = {
      ...operation,
      input: input ? { ...operation.input, type: "structure", members: { ...operation.input?.members, ...input } } : operation.input,
      output: output ? { ...operation.output, type: "structure", members: { ...operation.output?.members, ...output } } : operation.output,
    };
  }
  return { ...model, operations };
}

const require = createRequire(import.meta.url);
const loaded = new Map<ServiceName, ServiceModel>();

/** The service's model (loaded once); undefined for a service the region does not answer over the wire. */
export function serviceModel(service: ServiceName): ServiceModel | undefined {
  const id = MODEL_IDS[service];
  if (!id) return undefined;
  let model = loaded.get(service);
  if (!model) {
    const shipped = require(`aws-sdk/apis/${id}.min.json`) as ServiceModel;
    const override = PROTOCOL_OVERRIDES[service];
    model = withAdditions(service, override ? { ...shipped, metadata: { ...shipped.metadata, ...override } } : shipped);
    loaded.set(service, model);
  }
  return model;
}

/** A shape with its reference followed: the referenced shape's type and members, the referring node's traits on top. */
export function resolveShape(model: ServiceModel, node: ShapeNode): ShapeNode {
  if (!node.shape) return node;
  let resolved = RESOLVED.get(node);
  if (!resolved) {
    const target = model.shapes[node.shape];
    if (!target) throw new Error(`model has no shape ${node.shape}`);
    const { shape: _reference, ...traits } = node;
    resolved = { ...resolveShape(model, target), ...traits };
    RESOLVED.set(node, resolved);
  }
  return resolved;
}
/**
 * Each reference resolved once: a model's nodes never change, and every value on the wire resolves its shape (a
 * new object each time, before: a tenth of a simulated deploy's garbage).
 */
const RESOLVED = new WeakMap<ShapeNode, ShapeNode>();

/** A structure's members as `[name, member]`, listed once per shape. */
export function membersOf(shape: ShapeNode): [string, ShapeNode][] {
  let members = MEMBERS.get(shape);
  if (!members) {
    members = Object.entries(shape.members ?? {});
    MEMBERS.set(shape, members);
  }
  return members;
}
const MEMBERS = new WeakMap<ShapeNode, [string, ShapeNode][]>();

export function shapeType(node: ShapeNode): string {
  return node.type ?? "string";
}
