import type {
  DeleteAlarmsCommandInput,
  DeleteAlarmsCommandOutput,
  DescribeAlarmsCommandInput,
  DescribeAlarmsCommandOutput,
  MetricAlarm,
  PutMetricAlarmCommandInput,
  PutMetricAlarmCommandOutput,
  SetAlarmStateCommandInput,
  SetAlarmStateCommandOutput,
} from "@aws-sdk/client-cloudwatch";
import { type OperationHandlers, type Output, type RegionContext, decodeToken, encodeToken } from "../context.js";
import { awsError } from "../errors.js";

/**
 * CloudWatch, as little as the deploy needs: metric alarms stored, described and deleted (the alarms of step and
 * simple scaling policies, which a deploy copies to the new group, and the cutover's alarms), and the load
 * balancers' per-minute metrics the traffic model records (`recordSum`, `recordMax`: target 5XX answers, unhealthy
 * hosts). An alarm on a recorded metric is evaluated at every period boundary (Statistic over Period, the last
 * EvaluationPeriods periods, DatapointsToAlarm of them breaching, TreatMissingData); any other alarm stays
 * INSUFFICIENT_DATA: the region has no other metrics, and scaling policies do not act (docs/simulator-region.md).
 */
export interface SimAlarm {
  /** PutMetricAlarm's input as given (tags apart), answered back by DescribeAlarms. */
  definition: Omit<PutMetricAlarmCommandInput, "Tags">;
  arn: string;
  tags: { Key: string; Value: string }[];
  updatedAtMs: number;
  /** Its state, as last evaluated (up to `evaluatedToMs`, a period boundary). */
  state: { value: "OK" | "ALARM" | "INSUFFICIENT_DATA"; reason: string; sinceMs: number; evaluatedToMs: number };
}

/** One metric's datapoints per minute (the load balancers publish per minute). */
interface MetricSeries {
  sum: Map<number, number>;
  max: Map<number, number>;
}

const MINUTE_MS = 60_000;
/** An alarm evaluated after a long silence looks back at most this far (its state before that is taken as it was). */
const MAX_CATCH_UP_MS = 24 * 3600 * 1000;

function seriesKey(namespace: string, metricName: string, dimensions: Record<string, string>): string {
  const dims = Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => `${name}=${value}`);
  return [namespace, metricName, ...dims].join("|");
}

const COMPARE: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/** DescribeAlarms: "MaxRecords ... min 1, max 100"; AlarmNames and DeleteAlarms' AlarmNames: at most 100 (botocore cloudwatch 2010-08-01). */
const MAX_RECORDS = 100;
const MAX_NAMES = 100;

/** CloudWatch's wire codes for a bad value and a missing one (botocore cloudwatch 2010-08-01 error shapes). */
function invalidValue(message: string): Error {
  return awsError("CloudWatch", "InvalidParameterValue", message);
}

export class CloudWatchService {
  readonly alarms = new Map<string, SimAlarm>();
  private readonly metrics = new Map<string, MetricSeries>();

  constructor(private readonly ctx: RegionContext) {}

  private series(namespace: string, metricName: string, dimensions: Record<string, string>): MetricSeries {
    const key = seriesKey(namespace, metricName, dimensions);
    let series = this.metrics.get(key);
    if (!series) {
      series = { sum: new Map(), max: new Map() };
      this.metrics.set(key, series);
    }
    return series;
  }

  /** Adds `count` spread evenly over [fromMs, toMs) to the per-minute sums (a count metric, Statistic Sum). */
  recordSum(namespace: string, metricName: string, dimensions: Record<string, string>, fromMs: number, toMs: number, count: number): void {
    if (count <= 0) return;
    const { sum } = this.series(namespace, metricName, dimensions);
    const span = Math.max(1, toMs - fromMs);
    for (let minute = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; minute < Math.max(toMs, fromMs + 1); minute += MINUTE_MS) {
      const overlap = Math.min(toMs, minute + MINUTE_MS) - Math.max(fromMs, minute);
      const share = toMs > fromMs ? (count * overlap) / span : count;
      if (share > 0) sum.set(minute, (sum.get(minute) ?? 0) + share);
    }
  }

  /** Records `value` as seen throughout [fromMs, toMs) in the per-minute maxima (a gauge, Statistic Maximum). */
  recordMax(namespace: string, metricName: string, dimensions: Record<string, string>, fromMs: number, toMs: number, value: number): void {
    const { max } = this.series(namespace, metricName, dimensions);
    for (let minute = Math.floor(fromMs / MINUTE_MS) * MINUTE_MS; minute < Math.max(toMs, fromMs + 1); minute += MINUTE_MS) max.set(minute, Math.max(max.get(minute) ?? 0, value));
  }

  /** The statistic of one period [startMs, startMs + periodMs), undefined when no datapoint falls in it. */
  private datapoint(alarm: SimAlarm, startMs: number, periodMs: number): number | undefined {
    const { Namespace = "", MetricName = "", Dimensions = [], Statistic = "Average" } = alarm.definition;
    const series = this.metrics.get(seriesKey(Namespace, MetricName, Object.fromEntries(Dimensions.map((d) => [d.Name ?? "", d.Value ?? ""]))));
    if (!series) return undefined;
    const minutes: number[] = [];
    for (let minute = startMs; minute < startMs + periodMs; minute += MINUTE_MS) minutes.push(minute);
    const source = Statistic === "Maximum" ? series.max : series.sum;
    const values = minutes.flatMap((minute) => (source.has(minute) ? [source.get(minute) ?? 0] : []));
    if (values.length === 0) return undefined;
    return Statistic === "Maximum" ? Math.max(...values) : values.reduce((a, b) => a + b, 0);
  }

  /**
   * Brings the alarm's state up to the last period boundary (CloudWatch evaluates at each one: the last
   * EvaluationPeriods datapoints, ALARM when DatapointsToAlarm of them breach; missing datapoints as
   * TreatMissingData says, "missing" by default; CloudWatch User Guide, "Using Amazon CloudWatch alarms").
   */
  private evaluate(alarm: SimAlarm): void {
    const { Period = 60, EvaluationPeriods = 1, DatapointsToAlarm, Threshold = 0, ComparisonOperator = "", TreatMissingData = "missing", MetricName } = alarm.definition;
    const compare = COMPARE[ComparisonOperator];
    if (!MetricName || !compare) return;
    const periodMs = Period * 1000;
    const now = this.ctx.clock.now();
    const needed = DatapointsToAlarm ?? EvaluationPeriods;
    let boundary = Math.max(alarm.state.evaluatedToMs, Math.floor((now - MAX_CATCH_UP_MS) / periodMs) * periodMs) + periodMs;
    for (; boundary <= now; boundary += periodMs) {
      let breaching = 0;
      let present = 0;
      for (let k = 1; k <= EvaluationPeriods; k++) {
        const value = this.datapoint(alarm, boundary - k * periodMs, periodMs);
        if (value === undefined) {
          if (TreatMissingData === "breaching") breaching += 1;
          if (TreatMissingData === "breaching" || TreatMissingData === "notBreaching") present += 1;
          continue;
        }
        present += 1;
        if (compare(value, Threshold)) breaching += 1;
      }
      const noData = TreatMissingData === "ignore" ? alarm.state.value : "INSUFFICIENT_DATA";
      const next = breaching >= needed ? "ALARM" : present > 0 ? "OK" : noData;
      if (next !== alarm.state.value) {
        const latest = this.datapoint(alarm, boundary - periodMs, periodMs);
        alarm.state = {
          value: next,
          reason: `Threshold Crossed: ${breaching} out of the last ${EvaluationPeriods} datapoints [${latest ?? "missing"}] ${next === "ALARM" ? "breached" : "did not breach"} the threshold (${Threshold}).`,
          sinceMs: boundary,
          evaluatedToMs: boundary,
        };
      }
      alarm.state.evaluatedToMs = boundary;
    }
  }

  handlers(): OperationHandlers {
    return {
      PutMetricAlarm: (input: PutMetricAlarmCommandInput) => this.putMetricAlarm(input),
      DescribeAlarms: (input: DescribeAlarmsCommandInput) => this.describeAlarms(input),
      DeleteAlarms: (input: DeleteAlarmsCommandInput) => this.deleteAlarms(input),
      SetAlarmState: (input: SetAlarmStateCommandInput) => this.setAlarmState(input),
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
    const now = this.ctx.clock.now();
    const periodMs = (input.Period ?? 60) * 1000;
    this.alarms.set(name, {
      definition,
      arn: existing?.arn ?? `arn:aws:cloudwatch:${this.ctx.regionName}:${this.ctx.account}:alarm:${name}`,
      tags: existing?.tags ?? (Tags ?? []).map((tag) => ({ Key: tag.Key ?? "", Value: tag.Value ?? "" })),
      updatedAtMs: now,
      state: { value: "INSUFFICIENT_DATA", reason: "Unchecked: Initial alarm creation", sinceMs: now, evaluatedToMs: Math.floor(now / periodMs) * periodMs },
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
    const page: MetricAlarm[] = found.slice(offset, offset + max).map((alarm) => {
      this.evaluate(alarm);
      return {
        ...structuredClone(alarm.definition),
        AlarmArn: alarm.arn,
        AlarmConfigurationUpdatedTimestamp: new Date(alarm.updatedAtMs),
        StateValue: alarm.state.value,
        StateReason: alarm.state.reason,
        StateUpdatedTimestamp: new Date(alarm.state.sinceMs),
      };
    });
    return { MetricAlarms: page, CompositeAlarms: [], NextToken: offset + max < found.length ? encodeToken(offset + max) : undefined };
  }

  /**
   * "Temporarily sets the state of an alarm for testing purposes. When the updated state differs from the previous
   * value, the action configured for the appropriate state is invoked ... the alarm returns to its actual state
   * (often within seconds)" (API reference): here until the next evaluation changes it. ResourceNotFound for an
   * unknown alarm; StateValue OK, ALARM or INSUFFICIENT_DATA; StateReason required.
   */
  private setAlarmState(input: SetAlarmStateCommandInput): Output<SetAlarmStateCommandOutput> {
    const alarm = this.alarms.get(input.AlarmName ?? "");
    if (!alarm) throw awsError("CloudWatch", "ResourceNotFound", `Alarm ${input.AlarmName} not found`);
    if (!input.StateValue || !["OK", "ALARM", "INSUFFICIENT_DATA"].includes(input.StateValue) || !input.StateReason)
      throw invalidValue("StateValue must be OK, ALARM or INSUFFICIENT_DATA, and StateReason is required");
    this.evaluate(alarm);
    if (alarm.state.value !== input.StateValue)
      alarm.state = { ...alarm.state, value: input.StateValue as SimAlarm["state"]["value"], reason: input.StateReason, sinceMs: this.ctx.clock.now() };
    return {};
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
