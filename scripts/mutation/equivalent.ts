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
    file: "functions/deleteOldGroups.ts",
    mutator: "OptionalChaining",
    original: "state.plan?.groupName",
    replacement: "state.plan.groupName",
    reason: "read only without $.launch, and Delete old groups is reached only through Launch and the checks after it (the state machine definition), long after Prepare wrote $.plan: plan is always there",
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
    mutator: "LogicalOperator",
    original: 'group.AutoScalingGroupName ?? ""',
    replacement: 'group.AutoScalingGroupName && ""',
    reason: "this name (of the detach loop) reaches only the log statement after the detach: detachGroup takes the group itself",
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
    file: "functions/checkLoadBalancerHealth.ts",
    mutator: "OptionalChaining",
    original: "state.groupHealth?.inServiceWindow?.to",
    replacement: "state.groupHealth?.inServiceWindow.to",
    reason: "Check load balancer health is entered only after Check group health returned ready (the state machine definition), and a ready $.groupHealth always has its inServiceWindow (checkGroupHealth.ts); without $.groupHealth the chain stops at groupHealth?.",
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
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "listed && owner !== undefined && owner !== state.execution.id",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "LogicalOperator",
    original: "listed && owner !== undefined && owner !== state.execution.id",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "listed && owner !== undefined",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "LogicalOperator",
    original: "listed && owner !== undefined",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "owner !== undefined",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "EqualityOperator",
    original: "owner !== undefined",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "owner !== state.execution.id",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "EqualityOperator",
    original: "owner !== state.execution.id",
    replacement: "",
    reason: "the condition guards only a log statement (a group with the new group's name that another execution launched is left alone by the next line's test either way)",
  },
  {
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "snapshot.name !== newGroupName",
    replacement: "true",
    reason: "Prepare leaves the new group out of $.plan.liveGroups (it keeps only groups whose name is not the new group's, also when Refresh plan runs it again): no snapshot has the new group's name",
  },
  {
    file: "functions/rollback.ts",
    mutator: "ConditionalExpression",
    original: "owner === undefined",
    replacement: "false",
    reason: "Launch creates the new group with its execution tag in the CreateAutoScalingGroup call itself (launchReleaseGroup.ts), and the name carries a hash of this execution's ARN: a listed group by that name always has an owner",
  },
  {
    file: "functions/rollback.ts",
    mutator: "Regex",
    original: "/^\\d+$/",
    replacement: "/\\d+$/",
    reason: "a group's LaunchTemplate.Version is a version number, $Latest or $Default (the Auto Scaling API): a value that starts, or ends, with a digit is all digits, so either anchor alone admits the same versions",
  },
  {
    file: "functions/rollback.ts",
    mutator: "Regex",
    original: "/^\\d+$/",
    replacement: "/^\\d+/",
    reason: "a group's LaunchTemplate.Version is a version number, $Latest or $Default (the Auto Scaling API): a value that starts, or ends, with a digit is all digits, so either anchor alone admits the same versions",
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
  {
    file: "functions/notify.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "fallbacks no execution reaches: a PutEvents entry without ErrorCode is named \"\" or the replacement, neither a transient code, so EventPublishFailed either way; a StateEnteredEventDetails always has its name (required in the service model); a succeeded execution always has image.imageId (Use given image or Use baked image) and launch (Launch) before it succeeds",
  },
  {
    file: "functions/notify.ts",
    mutator: "ConditionalExpression",
    original: "!json",
    replacement: "false",
    reason: "JSON.parse of undefined or \"\" throws and of null gives null: undefined either way, as the early return gives",
  },
  ...(
    [
      ["ConditionalExpression", 'value && typeof value === "object"', "true"],
      ["LogicalOperator", 'value && typeof value === "object"', 'value || typeof value === "object"'],
      ["ConditionalExpression", 'typeof value === "object"', "true"],
    ] as const
  ).map(([mutator, original, replacement]) => ({
    file: "functions/notify.ts",
    mutator,
    original,
    replacement,
    reason: "a JSON number, string or boolean has no settings property, and null's throws inside the try: undefined either way",
  })),
  {
    file: "functions/notify.ts",
    mutator: "BlockStatement",
    original: "{ return undefined; …",
    replacement: "{}",
    reason: "an empty catch block falls off the end of parseState: it returns undefined too",
  },
  {
    file: "functions/notify.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string among the history events has no type, no state-entered details and no terminal details: every search skips it (the events list, and the fallback for an answer without events, which the service model requires)",
  },
  ...(
    [
      ["LogicalOperator", 'event.type?.endsWith("StateEntered") && event.stateEnteredEventDetails', 'event.type?.endsWith("StateEntered") || event.stateEnteredEventDetails'],
      ["OptionalChaining", "event.type?.endsWith", "event.type.endsWith"],
      ["StringLiteral", '"StateEntered"', '""'],
    ] as const
  ).map(([mutator, original, replacement]) => ({
    file: "functions/notify.ts",
    mutator,
    original,
    replacement,
    reason: "every history event has a type, and exactly the <Type>StateEntered events have stateEnteredEventDetails (the service model): either test picks the same events",
  })),
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "entered?.stateEnteredEventDetails?.input",
    replacement: "entered?.stateEnteredEventDetails.input",
    reason: "an event found by isStateEntered has stateEnteredEventDetails, and without one the chain stops at entered?.",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "entered.stateEnteredEventDetails?.name",
    replacement: "entered.stateEnteredEventDetails.name",
    reason: "an event found by isStateEntered has stateEnteredEventDetails",
  },
  {
    file: "functions/notify.ts",
    mutator: "LogicalOperator",
    original: "execution.name ?? executionName(execution.executionArn)",
    replacement: "execution.name && executionName(execution.executionArn)",
    reason: "the name is always given (required in the status change; abort passes DescribeExecution's) and is the ARN's last segment, which executionName reads",
  },
  {
    file: "functions/notify.ts",
    mutator: "LogicalOperator",
    original: "state.launch?.groupName ?? state.plan?.groupName",
    replacement: "state.launch?.groupName && state.plan?.groupName",
    reason: "in the success message (the detail's groupName is tested without launch): a succeeded execution has launch, whose groupName is the plan's (Launch creates plan.groupName)",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "state.plan?.groupName",
    replacement: "state.plan.groupName",
    reason: "in the success message: reached only without launch, and a succeeded execution has launch (and plan)",
  },
  {
    file: "functions/notify.ts",
    mutator: "StringLiteral",
    original: '"(unknown group)"',
    replacement: '""',
    reason: "a succeeded execution has launch (Launch precedes Succeeded): the group is always known",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "state.rollback?.restoredGroups",
    replacement: "state.rollback.restoredGroups",
    reason: "rolled back means the Deploy rolled back Fail state, entered only after Rollback wrote $.rollback (abort sets it before publishing rolled-back too)",
  },
  {
    file: "functions/notify.ts",
    mutator: "StringLiteral",
    original: '"no error recorded"',
    replacement: '""',
    reason:
      "the reason is used only for rolled back, failed, needs attention (status FAILED: its ExecutionFailed event is the newest, always on the first page read) and an abort by the CLI (error given): there is always an error",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "error?.error",
    replacement: "error.error",
    reason: "failed is status FAILED, whose ExecutionFailed event is the newest in the history, or the CLI's abort, which passes the error: error is always there",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "state.lock?.message",
    replacement: "state.lock.message",
    reason: "no-op means $.lock.status is duplicate (outcomeOfExecution): lock is always there",
  },
  {
    file: "functions/notify.ts",
    mutator: "StringLiteral",
    original: "`${release}: nothing to deploy`",
    replacement: "``",
    reason: "no-op means $.lock.status is duplicate, and a LockResult always has its message (required in the contract): the fallback is never used",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "error?.cause",
    replacement: "error.cause",
    reason: "without the redrive command an aborted execution is one the CLI stopped with ERROR.aborted (resumesByRedrive; a time-out always has it): its error is there",
  },
  {
    file: "functions/notify.ts",
    mutator: "OptionalChaining",
    original: "parsed?.errorMessage",
    replacement: "parsed.errorMessage",
    reason: "a cause of JSON null throws inside the try, which keeps the cause as it is: the same as without errorMessage",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "OptionalChaining",
    original: "plan?.keepImages",
    replacement: "plan.keepImages",
    reason: "Image retention runs after cutover, long after Prepare wrote $.plan: plan is always there",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "OptionalChaining",
    original: "plan?.imageId",
    replacement: "plan.imageId",
    reason: "Image retention runs after cutover, long after Prepare wrote $.plan: plan is always there",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "OptionalChaining",
    original: "state.image?.imageId",
    replacement: "state.image.imageId",
    reason: "the state reaches Image retention only through Use given image or Use baked image, which write $.image",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "MethodExpression",
    original: "[...inUse, liveImageId, plan?.imageId].filter((id): id is string => Boolean(id))",
    replacement: "[...inUse, liveImageId, plan?.imageId]",
    reason: "protectedIds is only asked about image ids (\"\" for none): an undefined in the set changes no answer",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "listAppReleaseImages leaves out images without ImageId, so the fallback id is never used",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string where an image, tag, launch-template version, block device mapping, snapshot or DeleteSnapshot result is expected has none of their fields (ImageId, Key, LaunchTemplateData, Ebs, SnapshotId): every use skips it as if the list were empty (the listed images, an answer without Images, Tags, LaunchTemplateVersions, BlockDeviceMappings, Snapshots or DeleteSnapshotResults, an image gone)",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "OptionalChaining",
    original: "tag.Key?.startsWith",
    replacement: "tag.Key.startsWith",
    reason: "EC2 returns every tag with its Key",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "OptionalChaining",
    original: "version.LaunchTemplateData?.ImageId",
    replacement: "version.LaunchTemplateData.ImageId",
    reason: "DescribeLaunchTemplateVersions returns every version with its LaunchTemplateData (a version without an image has data without ImageId, tested)",
  },
  {
    file: "functions/applyImageRetention.ts",
    mutator: "ConditionalExpression",
    original: "snapshot.SnapshotId",
    replacement: "true",
    reason: "DescribeSnapshots returns every snapshot with its SnapshotId",
  },
  {
    file: "functions/lib/validation.ts",
    mutator: "ObjectLiteral",
    original: '{ data: context.data, defaultError: "" }',
    replacement: "{}",
    reason:
      "zod's defaultErrorMap (zod/v3/locales/en.js) reads neither data nor defaultError for any issue code it can be given (defaultError only in the default branch after every ZodIssueCode, unreachable): the same message to compare",
  },
  {
    file: "functions/lib/validation.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "zod's defaultErrorMap (zod/v3/locales/en.js) uses the defaultError it is given only in its default branch, after a case for every ZodIssueCode (unreachable): the same message to compare",
  },
  {
    file: "functions/lib/groups.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "AutoScalingGroupName is required in DescribeAutoScalingGroups' answer and InstanceId in an Auto Scaling Instance (the service model): the fallback name or id is never used (a hook's missing name is tested)",
  },
  {
    file: "functions/lib/groups.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string among a group's instances has no LifecycleState, ProtectedFromScaleIn or InstanceId: neither protected nor in Standby, so nothing is sent for it; a string among the lifecycle hooks has no LifecycleTransition, so it is skipped as no termination hook (the other [] fallbacks, of answers without groups or activities, are tested)",
  },
  {
    file: "functions/lib/groups.ts",
    mutator: "ConditionalExpression",
    original: "protectedIds.length || standbyIds.length",
    replacement: "",
    reason: "the condition guards only a log statement (the calls before it send nothing for an empty list)",
  },
  {
    file: "functions/lib/groups.ts",
    mutator: "LogicalOperator",
    original: "protectedIds.length || standbyIds.length",
    replacement: "&&",
    reason: "the condition guards only a log statement (the calls before it send nothing for an empty list)",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "BlockStatement",
    original: "{ return undefined; …",
    replacement: "{}",
    reason:
      "an empty catch block returns undefined too",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a complete issue's message is the whole line, which describeIssue returns as it is: the issue's path is never read",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "ArrayDeclaration",
    original: '["baseImageId"]',
    replacement: "[]",
    reason:
      "a complete issue's message is the whole line, which describeIssue returns as it is: the issue's path is never read",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "ArrayDeclaration",
    original: '["rebuildBase"]',
    replacement: "[]",
    reason:
      "a complete issue's message is the whole line, which describeIssue returns as it is: the issue's path is never read",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "StringLiteral",
    original: '"baseImageId"',
    replacement: '""',
    reason:
      "a complete issue's message is the whole line, which describeIssue returns as it is: the issue's path is never read",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "StringLiteral",
    original: '"rebuildBase"',
    replacement: '""',
    reason:
      "a complete issue's message is the whole line, which describeIssue returns as it is: the issue's path is never read",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "ObjectLiteral",
    original: "{ errorMap: allowedErrorMap }",
    replacement: "{}",
    reason:
      "every issue these schemas raise has a message of its own (regex, refine, min and max are given one) or is phrased by describeIssue itself (invalid_type, unrecognized_keys, complete custom issues): allowedErrorMap's message is never shown",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "ConditionalExpression",
    original: "issue.path.length > 0",
    replacement: "true",
    reason:
      `an issue at the input's root is a complete one or unknown fields (parseDeployInput refuses a non-object before zod; unknown fields use the prefix, not the field): the name "input" is never shown`,
  },
  {
    file: "functions/lib/input.ts",
    mutator: "EqualityOperator",
    original: "issue.path.length > 0",
    replacement: ">=",
    reason:
      `an issue at the input's root is a complete one or unknown fields (parseDeployInput refuses a non-object before zod; unknown fields use the prefix, not the field): the name "input" is never shown`,
  },
  {
    file: "functions/lib/input.ts",
    mutator: "StringLiteral",
    original: '"input"',
    replacement: '""',
    reason:
      `an issue at the input's root is a complete one or unknown fields (parseDeployInput refuses a non-object before zod; unknown fields use the prefix, not the field): the name "input" is never shown`,
  },
  {
    file: "functions/lib/input.ts",
    mutator: "StringLiteral",
    original: '"a number"',
    replacement: '""',
    reason:
      "no field of either input schema is a number (z.number appears in neither): EXPECTED_TYPE.number is never read",
  },
  {
    file: "functions/lib/launchTemplates.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "the fallbacks are compared only: neither \"Stryker was here!\" nor \"\" starts with \"immutable-deploy group \" or is launchTemplateVersionDoesNotExist, so a version without a description is no group's and one without an error code is not counted as gone, either way",
  },
  {
    file: "functions/lib/launchTemplates.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string among the overrides or instances has no LaunchTemplateSpecification or LaunchTemplate, so the filter drops it; a string among the versions not deleted has no ResponseError, so it is not counted (only a warning is logged): the same result as an empty list",
  },
  {
    file: "functions/lib/loadBalancer.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string among a group's target groups, load balancers or instances matches no target and is in no LifecycleState; a string among the health answers has no Target or InstanceId, so it is skipped: the same as an empty list",
  },
  {
    file: "functions/lib/loadBalancer.ts",
    mutator: "ConditionalExpression",
    original: "!instanceId",
    replacement: "false",
    reason:
      "an entry without an instance id is then recorded under the key undefined, which the answer never looks up (it maps the instance ids asked for): the same answer",
  },
  {
    file: "functions/lib/loadBalancer.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "AutoScalingGroupName is required in DescribeAutoScalingGroups' answer (the service model); a missing Description is only searched for two phrases, which \"Stryker was here!\" contains no more than \"\"",
  },
  {
    file: "functions/lib/trafficRule.ts",
    mutator: "ArrayDeclaration",
    original: "[]",
    replacement: '["Stryker was here"]',
    reason:
      "a string among the listener's rules has no Priority, IsDefault or Actions: neither the pipeline's rule nor the default one, so it is never read: the same routing",
  },
  {
    file: "functions/lib/trafficRule.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason:
      "the shares are only ever looked up by the environment's target group ARNs (liveTargetGroup, routeAllTo): a tuple without an ARN, keyed \"\" or \"Stryker was here!\", is never looked up",
  },
  {
    file: "functions/lib/input.ts",
    mutator: "ConditionalExpression",
    original: "issue.code === z.ZodIssueCode.custom",
    replacement: "true",
    reason: "only a custom issue has params (zod's ZodCustomIssue; no other issue type carries them): without the first test the second decides the same",
  },
  {
    file: "functions/lib/outcome.ts",
    mutator: "StringLiteral",
    original: '""',
    replacement: '"Stryker was here!"',
    reason: "the fallback name is only looked up among the Fail states' names: neither \"\" nor \"Stryker was here!\" is one, so a Fail state without a name is \"failed\" either way",
  },
  {
    file: "functions/lib/groupConfiguration.ts",
    mutator: "ConditionalExpression",
    original: "orphans.length > 0",
    replacement: "",
    reason: "the condition guards only a log statement (the delete loop before it sends nothing for no orphans)",
  },
  {
    file: "functions/lib/groupConfiguration.ts",
    mutator: "EqualityOperator",
    original: "orphans.length > 0",
    replacement: "orphans.length",
    reason: "the condition guards only a log statement (the delete loop before it sends nothing for no orphans)",
  },
];
