import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { PublishCommand } from "@aws-sdk/client-sns";
import { eventBridge, sns } from "./lib/clients.js";
import type { DeployState, NotifyEvent, NotifyResult, Outcome } from "./lib/contract.js";
import { DeployError, isTransientAwsError, TransientAwsError } from "./lib/errors.js";
import { stageHandler } from "./lib/handler.js";
import { executionName } from "./lib/lock.js";
import { logger } from "./lib/logger.js";
import { ERROR, PROJECT } from "./lib/names.js";

/** EventBridge `detail-type` per outcome: what subscribers' rules match on. */
export const DETAIL_TYPE: Record<Outcome, string> = {
  succeeded: "Deploy Succeeded",
  "rolled-back": "Deploy Rolled Back",
  failed: "Deploy Failed",
  "no-op": "Deploy No-op",
};

/** The event source of every outcome event. */
export const EVENT_SOURCE = PROJECT;

const SUBJECT_MAX = 100;
/** Keeps the event well under EventBridge's 256 KB entry limit even with a long stack trace as cause. */
const CAUSE_MAX = 4000;

export interface DeployOutcomeDetail {
  app: string;
  environment: string;
  release: string | null;
  outcome: Outcome;
  executionId: string;
  executionName: string;
  groupName: string | null;
  imageId: string | null;
  message: string;
  error: { error: string; cause: string } | null;
}

/**
 * Deploy step 11 (and each failure path): publishes the outcome to the SNS topic (people) and the event bus
 * (automation). Any part of the state may be missing (a failure can happen before Prepare made a plan), so
 * everything optional is read defensively. A re-run publishes again: notifications are at least once.
 */
export async function notify(event: NotifyEvent): Promise<NotifyResult> {
  const { outcome, state } = event;
  const detail = outcomeDetail(outcome, state);
  const subject = subjectLine(outcome, state);

  await sns.send(new PublishCommand({ TopicArn: state.settings.topicArn, Subject: subject, Message: messageText(detail) }));

  const result = await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: state.settings.eventBusName,
          Source: EVENT_SOURCE,
          DetailType: DETAIL_TYPE[outcome],
          Detail: JSON.stringify(detail),
          Resources: [state.execution.id],
        },
      ],
    }),
  );
  if ((result.FailedEntryCount ?? 0) > 0) {
    const failed = result.Entries?.find((entry) => entry.ErrorCode);
    const reason = `${failed?.ErrorCode ?? "unknown"}: ${failed?.ErrorMessage ?? "no message"}`;
    const entryError = { name: failed?.ErrorCode ?? "", message: reason };
    // PutEvents reports throttling per entry, not as a thrown error: surface it under the retried name.
    if (isTransientAwsError(entryError)) throw new TransientAwsError(`PutEvents rejected the outcome event: ${reason}`);
    throw new DeployError(ERROR.eventPublishFailed, `PutEvents rejected the outcome event: ${reason}`);
  }

  logger.info("outcome published", { outcome, subject });
  return { outcome, message: detail.message };
}

export function outcomeDetail(outcome: Outcome, state: DeployState): DeployOutcomeDetail {
  const release = state.plan?.release ?? null;
  const error = state.error ? { error: state.error.Error ?? "", cause: truncate(readableCause(state.error.Cause), CAUSE_MAX) } : null;
  return {
    app: state.settings.app,
    environment: state.settings.environment,
    release,
    outcome,
    executionId: state.execution.id,
    executionName: state.execution.name ?? executionName(state.execution.id),
    groupName: state.launch?.groupName ?? state.plan?.groupName ?? null,
    imageId: state.image?.imageId ?? state.plan?.imageId ?? null,
    message: outcomeMessage(outcome, state, error),
    error,
  };
}

function outcomeMessage(outcome: Outcome, state: DeployState, error: DeployOutcomeDetail["error"]): string {
  const release = state.plan?.release ? `release ${state.plan.release}` : "the deploy";
  const reason = error ? `${error.error}: ${error.cause}` : "no error recorded";
  switch (outcome) {
    case "succeeded": {
      const group = state.launch?.groupName ?? state.plan?.groupName ?? "(unknown group)";
      const image = state.image?.imageId ? ` from image ${state.image.imageId}` : "";
      const capacity = state.launch ? `, ${state.launch.desiredCapacity} instance(s)` : "";
      const retired = state.retirement?.groups.length ? `; retired ${state.retirement.groups.join(", ")}` : "";
      return `${release} is live in group ${group}${image}${capacity}${retired}`;
    }
    case "rolled-back":
      return `${release} was rolled back; the previous group(s) keep serving. Reason: ${reason}`;
    case "failed":
      return `${release} failed. Reason: ${reason}`;
    case "no-op":
      return state.lock?.message ?? `${release}: nothing to deploy`;
  }
}

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
export function subjectLine(outcome: Outcome, state: DeployState): string {
  const release = state.plan?.release ? `: ${state.plan.release}` : "";
  const text = `[${state.settings.app} ${state.settings.environment}] ${DETAIL_TYPE[outcome]}${release}`;
  return truncate(text.replace(/[^\x20-\x7E]/g, "?"), SUBJECT_MAX);
}

/**
 * A Lambda error's Cause is a JSON document (`errorMessage`, `trace`...): keep just the message. The operator CLI
 * shows causes this way too.
 */
export function readableCause(cause: string | undefined): string {
  if (!cause) return "";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // not JSON: a Fail state's or a service's plain-text cause
  }
  return cause;
}

function messageText(detail: DeployOutcomeDetail): string {
  return [
    detail.message,
    "",
    `App:         ${detail.app}`,
    `Environment: ${detail.environment}`,
    `Release:     ${detail.release ?? "(unknown)"}`,
    `Outcome:     ${detail.outcome}`,
    `Group:       ${detail.groupName ?? "(none)"}`,
    `Image:       ${detail.imageId ?? "(none)"}`,
    `Execution:   ${detail.executionId}`,
    ...(detail.error ? [`Error:       ${detail.error.error}`, `Cause:       ${detail.error.cause}`] : []),
  ].join("\n");
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export const handler = stageHandler(notify);
