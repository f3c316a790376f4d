/**
 * Surviving mutants no test can kill, each with the reason (docs/mutation.md marks them; the non-equivalent
 * score leaves them out). A mutant matches by file, mutator, the code it replaces and a part of its
 * replacement, so the list survives line moves; an entry that no longer matches anything simply stops counting.
 */
export interface EquivalentMutant {
  file: string;
  mutator: string;
  /** The code the mutant replaces (one line of it, as docs/mutation.md shows it). */
  original: string;
  /** A part of the mutant's replacement. */
  replacement: string;
  reason: string;
}

export const EQUIVALENT_MUTANTS: EquivalentMutant[] = [
  {
    file: "functions/readBakedImage.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason: "a string in the exported-variables list has no Name, so find() still finds nothing: the same 'not exported'",
  },
  {
    file: "functions/readBakedImage.ts",
    mutator: "ConditionalExpression",
    original: "id === undefined",
    replacement: "false",
    reason: "AMI_ID_PATTERN.test(undefined) tests the string \"undefined\", which is no AMI id: the export is a problem either way",
  },
  {
    file: "functions/readBakedImage.ts",
    mutator: "ConditionalExpression",
    original: "imageId === undefined",
    replacement: "false",
    reason: "a missing IMAGE_ID is already one of the problems; the test is there for TypeScript's narrowing",
  },
  {
    file: "functions/readBakedImage.ts",
    mutator: "ConditionalExpression",
    original: "baseImageId === undefined",
    replacement: "false",
    reason: "a missing BASE_IMAGE_ID is already one of the problems; the test is there for TypeScript's narrowing",
  },
  {
    file: "functions/deleteOldGroups.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "AutoScalingGroupName is required in DescribeAutoScalingGroups' answer (the service model), so the fallback name is never used",
  },
  {
    file: "functions/deleteOldGroups.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason: "a version to keep that is no version number keeps nothing: the same versions are deleted",
  },
  {
    file: "functions/retireGroups.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "AutoScalingGroupName is required in DescribeAutoScalingGroups' answer (the service model), so the fallback name is never used",
  },
  {
    file: "functions/retireGroups.ts",
    mutator: "OptionalChaining",
    original: "instance.LifecycleState?.startsWith",
    replacement: "instance.LifecycleState.startsWith",
    reason: "LifecycleState is required in an Auto Scaling Instance (the service model): it is never undefined",
  },
  {
    file: "functions/checkRetired.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason: "only in nextHookTimeout without hooks: a string's heartbeatTimeout is undefined, drainedBy + undefined is NaN, and NaN >= now is false: no moment, as with no hooks",
  },
  {
    file: "functions/checkRetired.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "LifecycleState is required in an Auto Scaling Instance (the service model), so the fallback is never used",
  },
  {
    file: "functions/checkGroupHealth.ts",
    mutator: "OptionalChaining",
    original: "instance.LifecycleState?.startsWith",
    replacement: "instance.LifecycleState.startsWith",
    reason: "LifecycleState is required in an Auto Scaling Instance (the service model): it is never undefined",
  },
  {
    file: "functions/checkLoadBalancerHealth.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason: "a string among the group's instances has no InstanceId, so flatMap drops it (and InstanceId is required in an Auto Scaling Instance): the same instance ids",
  },
  {
    file: "functions/checkLoadBalancerHealth.ts",
    mutator: "OptionalChaining",
    original: "instance.LifecycleState?.startsWith",
    replacement: "instance.LifecycleState.startsWith",
    reason: "LifecycleState is required in an Auto Scaling Instance (the service model): it is never undefined",
  },
  {
    file: "functions/checkLoadBalancerHealth.ts",
    mutator: "ConditionalExpression",
    original: "graceEndsAt !== undefined",
    replacement: "true",
    reason: "the next test, now >= graceEndsAt, is false for an undefined graceEndsAt: the same branch",
  },
  {
    file: "functions/rollback.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "AutoScalingGroupName is required in DescribeAutoScalingGroups' answer; a missing pinned Version fails /^\\d+$/ with either fallback",
  },
  {
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "versions.length > 0",
    replacement: "true",
    reason: "without versions the newest creation time is 0 (1970), so the age is decades and never under 300 s",
  },
  {
    file: "functions/rollback.ts",
    mutator: "EqualityOperator",
    original: "versions.length > 0",
    replacement: "versions.length >= 0",
    reason: "without versions the newest creation time is 0 (1970), so the age is decades and never under 300 s",
  },
  {
    file: "functions/rollback.ts",
    mutator: "BlockStatement",
    original: "{ // Never ours to delete (the name is derived from our ARN, so this would take a hash collision or a hand-made group). …",
    replacement: "{}",
    reason: "the block holds only a log statement (the decision is the next line's)",
  },
  {
    file: "functions/prepareDeploy.ts",
    mutator: "OptionalChaining",
    original: "image?.Tags",
    replacement: "image.Tags",
    reason: "releaseOfImage runs only for an image input without release (parseDeployInput gives every artifact input a release), and describeNamedImage has thrown unless that image exists",
  },
  {
    file: "functions/launchReleaseGroup.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "a template tag without Key matches none of our keys with either fallback: it is kept the same",
  },
  {
    file: "functions/launchReleaseGroup.ts",
    mutator: "OptionalChaining",
    original: "created.LaunchTemplateVersion?.CreateTime",
    replacement: "created.LaunchTemplateVersion.CreateTime",
    reason: "the line before has thrown unless LaunchTemplateVersion has a number, so it is defined here",
  },
  {
    file: "functions/launchReleaseGroup.ts",
    mutator: "BlockStatement",
    original: "{ logger.warn(\"group is pinned to another launch template version\", { groupName: plan.groupName, pinnedVersion, version }); …",
    replacement: "{}",
    reason: "the block holds only a log statement",
  },
  {
    file: "functions/shiftTraffic.ts",
    mutator: "OptionalChaining",
    original: "state.launch?.groupName",
    replacement: "state.launch.groupName",
    reason: "servingGroupNames, findBreach and switchBack run only after shiftTraffic has thrown without $.launch: it is defined",
  },
  {
    file: "functions/shiftTraffic.ts",
    mutator: "ConditionalExpression",
    original: "!launch",
    replacement: "false",
    reason: "bothGroupsRunning runs only after shiftTraffic has thrown without $.launch: it is defined",
  },
  {
    file: "functions/shiftTraffic.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "no fallback is used: $.launch is there (shiftTraffic throws without it) with its required groupName, begin records oldTarget on every ALB cutover (the live target group), and AutoScalingGroupName is required in DescribeAutoScalingGroups' answer",
  },
  {
    file: "functions/shiftTraffic.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string among the alarms or instances has no AlarmName, StateValue or LifecycleState: never found, firing or in service; the [] for an instance without InstanceId is never used (InstanceId is required in an Auto Scaling Instance, the service model)",
  },
  {
    file: "functions/shiftTraffic.ts",
    mutator: "ConditionalExpression",
    original: "percent < 100",
    replacement: "false",
    reason: "a classic ELB's cutover is all at once (stacks/config.ts refuses another strategy; a first release is all at once too), so its only level is 100",
  },
  ...(['"waiting"', '"cutover: starting"'] as const).map((original) => ({
    file: "functions/shiftTraffic.ts",
    mutator: "StringLiteral",
    original,
    replacement: '""',
    reason: "begin's status and message never leave the first poll: every path of it returns its own (failed, waiting for approval, or after moving traffic)",
  })),
  {
    file: "functions/shiftTraffic.ts",
    mutator: "ObjectLiteral",
    original: "{ ...breach, switchedBackAt: now }",
    replacement: "{}",
    reason:
      "at the approval deadline failed() records the breach from its argument; the breach on `current` would only be kept by a classic switch back that waits, but a classic cutover (all at once) waits for approval at 0 %, where it fails without switching back",
  },
  {
    file: "functions/shiftTraffic.ts",
    mutator: "ObjectLiteral",
    original: "{ ...current, nextPollSeconds: POLL_BOUNDS.minSeconds }",
    replacement: "{}",
    reason:
      "unreachable at the approval deadline: an ALB switch back never waits, and a classic cutover (all at once) waits for approval only at 0 %, where it fails without switching back",
  },
  ...(["true", "false", "pinnedVersion === version"] as const).map((replacement) => ({
    file: "functions/launchReleaseGroup.ts",
    mutator: replacement === "pinnedVersion === version" ? "EqualityOperator" : "ConditionalExpression",
    original: "pinnedVersion !== version",
    replacement,
    reason: "the condition guards only a log statement",
  })),
];
