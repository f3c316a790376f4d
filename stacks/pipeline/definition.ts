import { Duration, type Stack } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import * as iam from "aws-cdk-lib/aws-iam";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Function } from "sst/constructs";
import { BAKE_VARIABLES, type EnvironmentSettings, RESULT_PATH, WARM_UP_EVENT } from "../../functions/lib/contract.js";
import { ERROR, INVOCATION_ERRORS, RETRY_BUDGET, STATE, TRANSIENT_ERRORS } from "../../functions/lib/names.js";
import { resultPathOf, type StageFunctionId, TASK_STATES, type TaskStateName } from "./tables.js";

/**
 * CodeBuild's `.sync` task with exactly the permissions Step Functions documents for it ("IAM policies for AWS
 * CodeBuild", Run a Job: StartBuild, StopBuild, BatchGetBuilds on the project, plus its EventBridge rule).
 * aws-cdk-lib adds codebuild:BatchGetReports on the project too; that action's only resource type is a report
 * group (Service Authorization Reference), so on a project it grants nothing, and the bake writes no reports.
 */
class CodeBuildRunJob extends tasks.CodeBuildStartBuild {
  constructor(scope: Stack, id: string, props: tasks.CodeBuildStartBuildProps) {
    super(scope, id, props);
    const policies = this.taskPolicies ?? [];
    for (const [index, statement] of policies.entries()) {
      const actions = statement.actions.filter((action) => action !== "codebuild:BatchGetReports");
      if (actions.length === statement.actions.length) continue;
      policies[index] = new iam.PolicyStatement({ effect: statement.effect, actions, resources: statement.resources, conditions: statement.conditions });
    }
  }
}

export interface DefinitionParts {
  fn: Record<StageFunctionId, Function>;
  bakeProject: codebuild.IProject;
  settings: EnvironmentSettings;
}

/** A Retry rule from one of names.ts's budgets: capped exponential back-off with full jitter. */
function retrier(errors: readonly string[], budget: (typeof RETRY_BUDGET)[keyof typeof RETRY_BUDGET]): sfn.RetryProps {
  return {
    errors: [...errors],
    interval: Duration.seconds(budget.intervalSeconds),
    backoffRate: budget.backoffRate,
    maxAttempts: budget.maxAttempts,
    maxDelay: Duration.seconds(budget.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  };
}

/**
 * The deploy state machine, in docs/design.md's stage order: the happy path top to bottom, then the
 * failure paths, then which states each failure path catches.
 */
export function deployDefinition(stack: Stack, { fn, bakeProject, settings }: DefinitionParts): sfn.IChainable {
  /** A Lambda Task: the function and the result path come from the one table (tables.ts). */
  const invoke = (state: TaskStateName) => {
    const spec: { fn: StageFunctionId } = TASK_STATES[state];
    const task = new tasks.LambdaInvoke(stack, state, {
      lambdaFunction: fn[spec.fn],
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // Without a payload the function receives the whole state document.
      resultPath: resultPathOf(state),
    });
    // Throttling storms, eventual consistency, busy resources: minutes of capped, jittered back-off.
    task.addRetry(retrier(TRANSIENT_ERRORS, RETRY_BUDGET.transient));
    // A crash, a timeout or a Lambda service error: every task is idempotent, so run it again, a few times.
    task.addRetry(retrier(INVOCATION_ERRORS, RETRY_BUDGET.invocation));
    return task;
  };
  /** Turns a wait loop's `failed` into a named error, as if the check had thrown it. */
  const raise = (state: string, errorName: string, causePath: string) =>
    new sfn.Pass(stack, state, { parameters: { Error: errorName, "Cause.$": causePath }, resultPath: RESULT_PATH.error });
  /** check -> Choice(ready / failed / otherwise Wait -> recheck). */
  const waitLoop = (checkState: TaskStateName, choiceName: string, waitName: string) => {
    const resultPath = resultPathOf(checkState);
    const loop = {
      choice: new sfn.Choice(stack, choiceName),
      wait: new sfn.Wait(stack, waitName, { time: sfn.WaitTime.secondsPath(`${resultPath}.nextPollSeconds`) }),
      ready: sfn.Condition.stringEquals(`${resultPath}.status`, "ready"),
      failed: sfn.Condition.stringEquals(`${resultPath}.status`, "failed"),
      message: `${resultPath}.message`,
      /**
       * `ready` goes on to `next`; `failed` raises `failure.error` (in state `failure.state`) and goes to
       * `failure.then`. Without `failure` the check reports a failure by throwing (it stops there for a redrive).
       */
      wire(check: sfn.INextable & sfn.IChainable, next: sfn.IChainable, failure?: { state: string; error: string; then: sfn.IChainable }) {
        loop.wait.next(check);
        const choice = loop.choice.when(loop.ready, next);
        if (failure) choice.when(loop.failed, raise(failure.state, failure.error, loop.message).next(failure.then));
        check.next(choice.otherwise(loop.wait));
      },
    };
    return loop;
  };

  // ---- The happy path ------------------------------------------------------------------------------------
  // 1. Prepare: the execution input wrapped with this environment's settings and the execution's identity.
  const start = new sfn.Pass(stack, STATE.start, {
    comment: "Wraps the execution input with this environment's settings and the execution's identity.",
    parameters: {
      settings,
      "input.$": "$",
      execution: { "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "startTime.$": "$$.Execution.StartTime" },
    },
  });
  const prepare = invoke(STATE.prepare);

  // 2. Claim: a release already live, a repeated S3 delivery or a duplicate in flight is a no-op, before it bakes.
  const claim = invoke(STATE.claim);

  // 3. Bake, unless the input names an image; without the lock (a deploy queued behind another bakes meanwhile).
  const useGivenImage = new sfn.Pass(stack, STATE.useGivenImage, {
    parameters: { "imageId.$": "$.plan.imageId", baked: false },
    resultPath: RESULT_PATH.image,
  });
  const bake = new CodeBuildRunJob(stack, STATE.bake, {
    project: bakeProject,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    environmentVariablesOverride: Object.fromEntries(
      BAKE_VARIABLES.map((name) => [
        name,
        { type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value: sfn.JsonPath.stringAt(`$.plan.bakeRequest.${name}`) },
      ]),
    ),
    // No ResultSelector: a JSONPath filter there (or States.ArrayGetItem on its result) fails with a
    // States.Runtime error no Catch takes when an export is missing. The next state reads the exports.
    resultPath: RESULT_PATH.bake,
  });
  const useBakedImage = invoke(STATE.useBakedImage);

  // 4. Lock: one deploy per environment (it guards the swap, not the bake); another release waits, then plans again.
  const lock = invoke(STATE.lock);
  const lockAcquired = new sfn.Choice(stack, STATE.lockAcquired);
  const lockResult = resultPathOf(STATE.lock);
  // The wait: the lock function records this task's token on the lock, and the holder's unlock completes the task
  // (SendTaskSuccess), so the waiter goes on the moment the lock is free, not at its next poll (README "The deploy
  // lock"). TimeoutSecondsPath ($.lock.nextPollSeconds, at most LOCK_HANDOVER_TIMEOUT_SECONDS and never past the
  // lock deadline) ends a wait that no unlock ends (a holder aborted or stopped for a redrive): States.Timeout, then
  // Lock looks again (and takes over from a holder no longer running, or fails with LockTimeout at the deadline).
  const waitForLock = new tasks.LambdaInvoke(stack, STATE.waitForLock, {
    lambdaFunction: fn[TASK_STATES[STATE.lock].fn],
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      settings: sfn.JsonPath.objectAt("$.settings"),
      execution: sfn.JsonPath.objectAt("$.execution"),
      lock: sfn.JsonPath.objectAt(lockResult),
      taskToken: sfn.JsonPath.taskToken,
    }),
    taskTimeout: sfn.Timeout.at(`${lockResult}.nextPollSeconds`),
    retryOnServiceExceptions: false,
    // The hand-over's output says who unlocked; Lock reads the lock itself, so the state goes on unchanged.
    resultPath: sfn.JsonPath.DISCARD,
  });
  waitForLock.addRetry(retrier(TRANSIENT_ERRORS, RETRY_BUDGET.transient));
  waitForLock.addRetry(retrier(INVOCATION_ERRORS, RETRY_BUDGET.invocation));
  const refreshPlan = invoke(STATE.refreshPlan);

  // 5-7. Launch, then wait until healthy in the group and at the load balancer.
  const launch = invoke(STATE.launch);
  const checkGroup = invoke(STATE.checkGroupHealth);
  const groupLoop = waitLoop(STATE.checkGroupHealth, STATE.groupHealthy, STATE.waitForGroup);
  const checkLoadBalancer = invoke(STATE.checkLoadBalancerHealth);
  const loadBalancerLoop = waitLoop(STATE.checkLoadBalancerHealth, STATE.loadBalancerHealthy, STATE.waitForLoadBalancer);

  // 8. Cutover: traffic moves to the new group (cutover.strategy), watched between steps and for the bake time
  // with the old groups ready; a breach switches all traffic back at once, then rolls back.
  const shiftTraffic = invoke(STATE.shiftTraffic);
  const cutoverLoop = waitLoop(STATE.shiftTraffic, STATE.cutoverDone, STATE.waitForCutover);

  // Retire, Delete and Unlock each run once per deploy, right when the one before them is over (the end of the bake
  // time, the last old instance's termination): without this, each would start in a new execution environment, its
  // Init on the deploy's path. An Event invocation shortly before has Lambda make one ready; the function answers
  // WARM_UP_EVENT at once (functions/lib/handler.ts). Nothing waits for it, and a failed one changes nothing (AWS
  // does not promise to keep an idle environment either).
  const warmUp = (state: string, fnId: StageFunctionId) =>
    new tasks.LambdaInvoke(stack, state, {
      lambdaFunction: fn[fnId],
      invocationType: tasks.LambdaInvocationType.EVENT,
      payload: sfn.TaskInput.fromObject({ ...WARM_UP_EVENT }),
      retryOnServiceExceptions: false,
      resultPath: sfn.JsonPath.DISCARD,
    });
  /** Warm-ups in a row, then `then`: each goes on to the next whether its invocation worked or not. */
  const warmUpsThen = (then: sfn.IChainable, ...warmUps: tasks.LambdaInvoke[]): sfn.IChainable => {
    for (const [index, task] of warmUps.entries()) {
      const next = warmUps[index + 1] ?? then;
      task.next(next);
      task.addCatch(next, { resultPath: sfn.JsonPath.DISCARD });
    }
    return warmUps[0];
  };
  /** A boolean flag a check may set: present and true (a comparison on a missing field fails the execution). */
  const flagSet = (path: string) => sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.booleanEquals(path, true));
  const warmUpRetire = warmUp(STATE.warmUpRetire, TASK_STATES[STATE.retire].fn);

  // 9-12. Point of no return, at the end of the bake time: nothing is rolled back from here on; a failure stops
  // the execution at the failing state with the lock held, and a redrive resumes there (every task is
  // idempotent). The outcome notification follows the execution's status (an EventBridge rule, not a state).
  const retire = invoke(STATE.retire);
  const checkRetired = invoke(STATE.checkRetired);
  const retiredLoop = waitLoop(STATE.checkRetired, STATE.retired, STATE.waitForRetirement);
  const deleteOldGroups = invoke(STATE.deleteOldGroups);
  // Retention waits for nothing the old instances do: it counts the groups being retired, and the versions Delete
  // removes with them, as deleted already (applyImageRetention.ts). So it runs during the retirement wait, off the
  // path to Unlock; after Delete only when the check never waited (nothing was left to terminate).
  const imageRetentionWhileRetiring = invoke(STATE.imageRetentionWhileRetiring);
  const imageRetention = invoke(STATE.imageRetention);
  const retentionResult = resultPathOf(STATE.imageRetention);
  const warmUpDelete = warmUp(STATE.warmUpDelete, TASK_STATES[STATE.deleteOldGroups].fn);
  const warmUpUnlock = warmUp(STATE.warmUpUnlock, TASK_STATES[STATE.unlock].fn);
  // A deploy queued behind this one (Check old groups retired says `queued`) launches the moment this one unlocks,
  // its Launch and health checks long idle: warm them up for it too.
  const deployQueued = new sfn.Choice(stack, STATE.deployQueued);
  const warmUpLaunch = warmUp(STATE.warmUpLaunch, TASK_STATES[STATE.launch].fn);
  const warmUpCheckGroup = warmUp(STATE.warmUpCheckGroupHealth, TASK_STATES[STATE.checkGroupHealth].fn);
  const warmUpCheckLoadBalancer = warmUp(STATE.warmUpCheckLoadBalancerHealth, TASK_STATES[STATE.checkLoadBalancerHealth].fn);
  const unlock = invoke(STATE.unlock);
  unlock.next(new sfn.Succeed(stack, STATE.succeeded));

  // ---- The failure paths ---------------------------------------------------------------------------------
  // Before Launch (and after a rollback that itself failed): unlock, fail with the original error.
  const unlockAfterFailure = invoke(STATE.unlockAfterFailure);
  unlockAfterFailure.next(new sfn.Fail(stack, STATE.failed, { errorPath: "$.error.Error", causePath: "$.error.Cause" }));
  // From Launch until healthy at the load balancer: roll back, unlock, fail with the original error.
  const rollback = invoke(STATE.rollback);
  const unlockAfterRollback = invoke(STATE.unlockAfterRollback);
  rollback
    .next(unlockAfterRollback)
    .next(new sfn.Fail(stack, STATE.rolledBack, { errorPath: "$.error.Error", causePath: "$.error.Cause" }));
  // A stale run of a superseded execution (a late redrive): stop, having changed nothing, lock untouched.
  const superseded = new sfn.Fail(stack, STATE.superseded, { errorPath: "$.error.Error", causePath: "$.error.Cause" });
  const noOp = new sfn.Succeed(stack, STATE.noOp);

  // ---- Wiring, top to bottom -----------------------------------------------------------------------------
  start.next(prepare).next(claim);
  claim.next(
    new sfn.Choice(stack, STATE.claimed)
      .when(sfn.Condition.stringEquals("$.lock.status", "duplicate"), noOp)
      .otherwise(
        new sfn.Choice(stack, STATE.imageGiven)
          .when(sfn.Condition.isPresent("$.plan.imageId"), useGivenImage.next(lock))
          .otherwise(bake.next(useBakedImage).next(lock)),
      ),
  );
  lock.next(
    lockAcquired
      .when(sfn.Condition.stringEquals(`${lockResult}.status`, "duplicate"), noOp)
      .when(sfn.Condition.stringEquals(`${lockResult}.status`, "failed"), raise(STATE.lockTimedOut, ERROR.lockTimeout, `${lockResult}.message`).next(unlockAfterFailure))
      .when(sfn.Condition.stringEquals(`${lockResult}.status`, "ready"), launch)
      .otherwise(waitForLock),
  );
  // After waiting for another deploy the environment has changed: plan again before the next attempt, whether the
  // holder handed the lock over or the wait timed out.
  waitForLock.next(refreshPlan).next(lock);
  waitForLock.addCatch(refreshPlan, { errors: ["States.Timeout"], resultPath: sfn.JsonPath.DISCARD });
  launch.next(checkGroup);
  groupLoop.wire(checkGroup, checkLoadBalancer, { state: STATE.groupUnhealthy, error: ERROR.releaseUnhealthy, then: rollback });
  loadBalancerLoop.wire(checkLoadBalancer, shiftTraffic, { state: STATE.healthDeadlinePassed, error: ERROR.releaseUnhealthy, then: rollback });
  cutoverLoop.wire(shiftTraffic, retire, { state: STATE.cutoverBreached, error: ERROR.cutoverBreached, then: rollback });
  // After `ready` and `failed`: the watch whose next poll ends the bake time warms Retire up, then waits as usual.
  cutoverLoop.choice.when(flagSet(`${resultPathOf(STATE.shiftTraffic)}.endsNext`), warmUpsThen(cutoverLoop.wait, warmUpRetire));
  retire.next(checkRetired);
  // Overdue old instances make the check throw RetirementOverdue: it stops there, lock held, for a redrive.
  retiredLoop.wire(checkRetired, deleteOldGroups);
  // After `ready` (wire's first rule): the first time the loop waits, retention runs, then the wait goes on.
  retiredLoop.choice.when(
    sfn.Condition.and(sfn.Condition.stringEquals(`${resultPathOf(STATE.checkRetired)}.status`, "waiting"), sfn.Condition.isNotPresent(retentionResult)),
    imageRetentionWhileRetiring.next(warmUpsThen(deployQueued, warmUpDelete, warmUpUnlock)),
  );
  deployQueued
    .when(flagSet(`${resultPathOf(STATE.checkRetired)}.queued`), warmUpsThen(retiredLoop.wait, warmUpLaunch, warmUpCheckGroup, warmUpCheckLoadBalancer))
    .otherwise(retiredLoop.wait);
  deleteOldGroups.next(
    new sfn.Choice(stack, STATE.imagesRetained).when(sfn.Condition.isPresent(retentionResult), unlock).otherwise(imageRetention.next(unlock)),
  );

  // What each failure path catches. Every task after Lock first: a lost lock ends the run where it is.
  const afterLock = [launch, checkGroup, checkLoadBalancer, shiftTraffic, retire, checkRetired, imageRetentionWhileRetiring, deleteOldGroups, imageRetention, unlock, rollback, unlockAfterRollback, unlockAfterFailure];
  for (const task of afterLock) task.addCatch(superseded, { errors: [ERROR.lockLost], resultPath: RESULT_PATH.error });
  // Before Launch, unlock (before Lock there is nothing to release: Unlock says so); from Launch to the end of the
  // bake time, roll back; a failed rollback still unlocks.
  for (const task of [prepare, claim, bake, useBakedImage, lock, waitForLock, refreshPlan]) task.addCatch(unlockAfterFailure, { resultPath: RESULT_PATH.error });
  for (const task of [launch, checkGroup, checkLoadBalancer, shiftTraffic]) task.addCatch(rollback, { resultPath: RESULT_PATH.error });
  rollback.addCatch(unlockAfterFailure, { resultPath: RESULT_PATH.rollbackError });
  return start;
}
