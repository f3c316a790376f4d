import { createHash } from "node:crypto";
import type { PublishCommandInput, PublishCommandOutput } from "@aws-sdk/client-sns";
import type { PutEventsCommandInput, PutEventsCommandOutput } from "@aws-sdk/client-eventbridge";
import { matchesEventPattern } from "./eventPattern.js";
import { type OperationHandlers, type Output, type RegionContext } from "../context.js";
import { awsError } from "../errors.js";

/** An event as EventBridge delivers it to a rule target (and so to the state machine as its input). */
export interface EventBridgeEvent<D = unknown> {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: D;
}

export interface S3ObjectCreatedDetail {
  version: "0";
  bucket: { name: string };
  object: { key: string; size: number; etag: string; "version-id"?: string; sequencer: string };
  "request-id": string;
  requester: string;
  "source-ip-address": string;
  reason: "PutObject";
}

export type S3ObjectCreatedEvent = EventBridgeEvent<S3ObjectCreatedDetail>;

/** EventBridge's `time`: ISO 8601 without milliseconds. */
function eventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function eventId(ctx: RegionContext): string {
  const n = ctx.ids.count("event").toString(16).padStart(12, "0");
  return `6a7e8feb-b491-4cf7-a9f1-${n}`;
}

// ---- EventBridge ------------------------------------------------------------------------------------

export interface DeliveredEvent {
  busName: string;
  event: EventBridgeEvent;
}

export class EventBridgeService {
  readonly buses = new Set<string>(["default"]);
  /** Every event put on any bus, in order. */
  readonly delivered: DeliveredEvent[] = [];
  private readonly listeners: Array<(delivery: DeliveredEvent) => void> = [];

  constructor(private readonly ctx: RegionContext) {}

  private readonly rules: Array<{ busName: string; pattern: Parameters<typeof matchesEventPattern>[0]; target: (event: EventBridgeEvent) => void }> = [];

  /** Hears every event put on a bus (S3 notifications go to `default`). */
  onEvent(listener: (delivery: DeliveredEvent) => void): void {
    this.listeners.push(listener);
  }

  /** A rule: every event on `busName` that matches `pattern` (EventBridge's pattern syntax) goes to `target`. */
  putRule(busName: string, pattern: Parameters<typeof matchesEventPattern>[0], target: (event: EventBridgeEvent) => void): () => void {
    const rule = { busName, pattern, target };
    this.rules.push(rule);
    return () => this.rules.splice(this.rules.indexOf(rule), 1);
  }

  emit(busName: string, event: EventBridgeEvent): void {
    const delivery = { busName, event };
    this.delivered.push(delivery);
    for (const listener of this.listeners) listener(delivery);
    for (const rule of [...this.rules]) if (rule.busName === busName && matchesEventPattern(rule.pattern, event)) rule.target(structuredClone(event));
  }

  handlers(): OperationHandlers {
    return { PutEvents: (input: PutEventsCommandInput) => this.putEvents(input) };
  }

  private putEvents(input: PutEventsCommandInput): Output<PutEventsCommandOutput> {
    const entries = input.Entries ?? [];
    if (entries.length === 0 || entries.length > 10) throw awsError("EventBridge", "ValidationException", "Entries must contain 1 to 10 items");
    let failed = 0;
    const results = entries.map((entry) => {
      const busName = (entry.EventBusName ?? "default").split("/").pop() ?? "default";
      if (!this.buses.has(busName)) {
        failed += 1;
        return { ErrorCode: "NotFoundException", ErrorMessage: `Event bus ${busName} does not exist.` };
      }
      let detail: unknown;
      try {
        detail = JSON.parse(entry.Detail ?? "{}");
      } catch {
        failed += 1;
        return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
      }
      const event: EventBridgeEvent = {
        version: "0",
        id: eventId(this.ctx),
        "detail-type": entry.DetailType ?? "",
        source: entry.Source ?? "",
        account: this.ctx.account,
        time: eventTime(entry.Time ? entry.Time.getTime() : this.ctx.clock.now()),
        region: this.ctx.regionName,
        resources: entry.Resources ?? [],
        detail,
      };
      this.emit(busName, event);
      return { EventId: event.id };
    });
    return { FailedEntryCount: failed, Entries: results };
  }
}

// ---- SNS --------------------------------------------------------------------------------------------

export interface PublishedMessage {
  topicArn: string;
  subject?: string;
  message: string;
  attributes?: PublishCommandInput["MessageAttributes"];
  atMs: number;
}

export class SnsService {
  readonly topics = new Set<string>();
  readonly published: PublishedMessage[] = [];

  constructor(private readonly ctx: RegionContext) {}

  createTopic(name: string): string {
    const arn = `arn:aws:sns:${this.ctx.regionName}:${this.ctx.account}:${name}`;
    this.topics.add(arn);
    return arn;
  }

  handlers(): OperationHandlers {
    return { Publish: (input: PublishCommandInput) => this.publish(input) };
  }

  private publish(input: PublishCommandInput): Output<PublishCommandOutput> {
    const topicArn = input.TopicArn ?? input.TargetArn ?? "";
    if (!this.topics.has(topicArn)) throw awsError("SNS", "NotFound", "Topic does not exist");
    if (!input.Message) throw awsError("SNS", "InvalidParameter", "Invalid parameter: Empty message");
    if (input.Subject !== undefined && input.Subject.length > 100) throw awsError("SNS", "InvalidParameter", "Invalid parameter: Subject");
    this.published.push({ topicArn, subject: input.Subject, message: input.Message, attributes: input.MessageAttributes, atMs: this.ctx.clock.now() });
    return { MessageId: `${this.ctx.ids.count("message").toString(16).padStart(8, "0")}-0000-5000-8000-000000000000` };
  }
}

// ---- S3 ---------------------------------------------------------------------------------------------

export interface SimObject {
  key: string;
  size: number;
  etag: string;
  versionId?: string;
  body: Uint8Array;
  lastModifiedMs: number;
}

export interface SimBucket {
  name: string;
  versioned: boolean;
  /** Latest version of each key. */
  objects: Map<string, SimObject>;
}

/**
 * An object key as S3 event notifications carry it: URL-encoded, a space as "+", other characters as %XX
 * ("/" kept, so prefix rules such as `releases/*` match). The stage functions decode it (functions/lib/input.ts).
 */
export function s3EventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+");
}

/** S3 buckets whose PutObject emits the EventBridge `Object Created` event (EventBridge notifications on). */
export class S3Service {
  readonly buckets = new Map<string, SimBucket>();

  constructor(
    private readonly ctx: RegionContext,
    private readonly eventBridge: EventBridgeService,
  ) {}

  createBucket(name: string, options: { versioned?: boolean } = {}): SimBucket {
    const bucket: SimBucket = { name, versioned: options.versioned ?? true, objects: new Map() };
    this.buckets.set(name, bucket);
    return bucket;
  }

  /** Stores the object and delivers `Object Created` to the default bus; returns the event as delivered. */
  putObject(bucketName: string, key: string, body: string | Uint8Array): { object: SimObject; event: S3ObjectCreatedEvent } {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) throw awsError("S3", "NoSuchBucket", "The specified bucket does not exist");
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    const n = this.ctx.ids.count("s3-sequence");
    const object: SimObject = {
      key,
      size: bytes.byteLength,
      etag: createHash("md5").update(bytes).digest("hex"),
      versionId: bucket.versioned ? `v${n.toString(36).padStart(31, "0")}` : undefined,
      body: bytes,
      lastModifiedMs: this.ctx.clock.now(),
    };
    bucket.objects.set(key, object);
    const event: S3ObjectCreatedEvent = {
      version: "0",
      id: eventId(this.ctx),
      "detail-type": "Object Created",
      source: "aws.s3",
      account: this.ctx.account,
      time: eventTime(this.ctx.clock.now()),
      region: this.ctx.regionName,
      resources: [`arn:aws:s3:::${bucketName}`],
      detail: {
        version: "0",
        bucket: { name: bucketName },
        object: {
          key: s3EventKey(key),
          size: object.size,
          etag: object.etag,
          ...(object.versionId ? { "version-id": object.versionId } : {}),
          sequencer: n.toString(16).toUpperCase().padStart(18, "0"),
        },
        "request-id": `REQ${n.toString(16).toUpperCase().padStart(13, "0")}`,
        requester: this.ctx.account,
        "source-ip-address": "203.0.113.10",
        reason: "PutObject",
      },
    };
    this.eventBridge.emit("default", event);
    return { object, event };
  }

  handlers(): OperationHandlers {
    return {
      PutObject: (input: { Bucket?: string; Key?: string; Body?: unknown }) => {
        const body = input.Body;
        if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
          throw awsError("S3", "NotImplemented", "The simulated region accepts string or Uint8Array bodies only");
        }
        const { object } = this.putObject(input.Bucket ?? "", input.Key ?? "", body ?? "");
        return { ETag: `"${object.etag}"`, VersionId: object.versionId };
      },
      HeadObject: (input: { Bucket?: string; Key?: string }) => {
        const object = this.buckets.get(input.Bucket ?? "")?.objects.get(input.Key ?? "");
        if (!object) throw awsError("S3", "NotFound", "Not Found");
        return { ContentLength: object.size, ETag: `"${object.etag}"`, VersionId: object.versionId, LastModified: new Date(object.lastModifiedMs) };
      },
    };
  }
}
