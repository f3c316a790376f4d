import type {
  DeleteAlarmsCommandInput,
  DeleteAlarmsCommandOutput,
  DescribeAlarmsCommandInput,
  DescribeAlarmsCommandOutput,
  MetricAlarm,
  PutMetricAlarmCommandInput,
  PutMetricAlarmCommandOutput,
} from "@aws-sdk/client-cloudwatch";
import { type OperationHandlers, type Output, type RegionContext, decodeToken, encodeToken } from "../context.js";
import { awsError } from "../errors.js";

/**
 * CloudWatch, as little as the deploy needs: metric alarms stored, described and deleted (the alarms of step and
 * simple scaling policies, which a deploy copies to the new group). Alarms never change state here: the region
 * has no metrics, and scaling policies do not act (docs/simulator-region.md).
 */
export interface SimAlarm {
  /** PutMetricAlarm's input as given (tags apart), answered back by DescribeAlarms. */
  definition: Omit<PutMetricAlarmCommandInput, "Tags">;
  arn: string;
  tags: { Key: string; Value: string }[];
  updatedAtMs: number;
}

/** DescribeAlarms: "MaxRecords ... min 1, max 100"; AlarmNames and DeleteAlarms' AlarmNames: at most 100 (botocore cloudwatch 2010-08-01). */
const MAX_RECORDS = 100;
const MAX_NAMES = 100;

/** CloudWatch's wire codes for a bad value and a missing one (botocore cloudwatch 2010-08-01 error shapes). */
function invalidValue(message: string): Error {
  return awsError("CloudWatch", "InvalidParameterValue", message);
}

export class CloudWatchService {
  readonly alarms = new Map<string, SimAlarm>();

  constructor(private readonly ctx: RegionContext) {}

  handlers(): OperationHandlers {
    return {
      PutMetricAlarm: (input: PutMetricAlarmCommandInput) => this.putMetricAlarm(input),
      DescribeAlarms: (input: DescribeAlarmsCommandInput) => this.describeAlarms(input),
      DeleteAlarms: (input: DeleteAlarmsCommandInput) => this.deleteAlarms(input),
    };
  }

  /** The alarms whose actions name `arn` (what DescribePolicies lists as a step or simple policy's alarms). */
  alarmsActingOn(arn: string): { AlarmName: string; AlarmARN: string }[] {
    return [...this.alarms.values()]
      .filter(({ definition }) => [definition.AlarmActions, definition.OKActions, definition.InsufficientDataActions].some((actions) => actions?.includes(arn)))
      .map((alarm) => ({ AlarmName: alarm.definition.AlarmName ?? "", AlarmARN: alarm.arn }));
  }

  /**
   * Creates or replaces an alarm. Required: AlarmName (1-255), EvaluationPeriods, ComparisonOperator (the model's
   * required members); "For each PutMetricAlarm operation, you must specify either MetricName or a Metrics
   * array", not both. "If you are using this operation to update an existing alarm, any tags you specify in this
   * parameter are ignored." (botocore cloudwatch 2010-08-01 model docs)
   */
  private putMetricAlarm(input: PutMetricAlarmCommandInput): Output<PutMetricAlarmCommandOutput> {
    const name = input.AlarmName ?? "";
    if (!name || name.length > 255) throw invalidValue(`AlarmName ${JSON.stringify(name)} must be 1-255 characters`);
    if (input.EvaluationPeriods === undefined || !input.ComparisonOperator)
      throw awsError("CloudWatch", "MissingParameter", "EvaluationPeriods and ComparisonOperator are required");
    if (Boolean(input.MetricName) === Boolean(input.Metrics?.length))
      throw awsError("CloudWatch", "InvalidParameterCombination", "Exactly one of MetricName or Metrics must be specified");
    const { Tags, ...definition } = structuredClone(input);
    const existing = this.alarms.get(name);
    this.alarms.set(name, {
      definition,
      arn: existing?.arn ?? `arn:aws:cloudwatch:${this.ctx.regionName}:${this.ctx.account}:alarm:${name}`,
      tags: existing?.tags ?? (Tags ?? []).map((tag) => ({ Key: tag.Key ?? "", Value: tag.Value ?? "" })),
      updatedAtMs: this.ctx.clock.now(),
    });
    return {};
  }

  private describeAlarms(input: DescribeAlarmsCommandInput): Output<DescribeAlarmsCommandOutput> {
    const names = input.AlarmNames ?? [];
    if (names.length > MAX_NAMES) throw invalidValue(`The collection AlarmNames must not have a size greater than ${MAX_NAMES}.`);
    const max = input.MaxRecords ?? MAX_RECORDS;
    if (max < 1 || max > MAX_RECORDS) throw invalidValue(`MaxRecords must be between 1 and ${MAX_RECORDS}`);
    const offset = decodeToken(input.NextToken);
    if (offset === undefined) throw awsError("CloudWatch", "InvalidNextToken", "The service returned an invalid NextToken.");
    // Composite alarms are not modelled: asking for them alone finds none.
    const metricAlarms = !input.AlarmTypes || input.AlarmTypes.includes("MetricAlarm");
    const found = [...this.alarms.values()]
      .filter(({ definition: { AlarmName = "" } }) => metricAlarms && (names.length === 0 || names.includes(AlarmName)) && AlarmName.startsWith(input.AlarmNamePrefix ?? ""))
      .sort((a, b) => (a.definition.AlarmName ?? "").localeCompare(b.definition.AlarmName ?? ""));
    const page: MetricAlarm[] = found.slice(offset, offset + max).map((alarm) => ({
      ...structuredClone(alarm.definition),
      AlarmArn: alarm.arn,
      AlarmConfigurationUpdatedTimestamp: new Date(alarm.updatedAtMs),
      StateValue: "INSUFFICIENT_DATA",
      StateReason: "Unchecked: Initial alarm creation",
    }));
    return { MetricAlarms: page, CompositeAlarms: [], NextToken: offset + max < found.length ? encodeToken(offset + max) : undefined };
  }

  /** "You can delete up to 100 alarms in one operation ... In the event of an error, no alarms are deleted"; ResourceNotFound is its error. */
  private deleteAlarms(input: DeleteAlarmsCommandInput): Output<DeleteAlarmsCommandOutput> {
    const names = input.AlarmNames ?? [];
    if (names.length > MAX_NAMES) throw invalidValue(`The collection AlarmNames must not have a size greater than ${MAX_NAMES}.`);
    const missing = names.filter((name) => !this.alarms.has(name));
    if (missing.length > 0) throw awsError("CloudWatch", "ResourceNotFound", `Alarms not found: ${missing.join(", ")}`);
    for (const name of names) this.alarms.delete(name);
    return {};
  }
}
