import type { Tag } from "@aws-sdk/client-ec2";
import { IMAGE_ROLE, TAG } from "../../functions/lib/names.js";
import type { OperationHandlers, RegionContext } from "../context.js";
import { awsError } from "../errors.js";
import { REGION_DELAYS } from "../timing.js";
import { type Ec2Service, type SimImage, tagValueOf } from "./ec2.js";

/** What a bake needs (the CodeBuild environment-variable overrides the Pipeline passes, typed). */
export interface BakeRequest {
  app: string;
  environment: string;
  release: string;
  artifact?: { bucket: string; key: string; versionId?: string };
  /** Bake on this base image (seed's PRIMAL_ID) instead of finding or baking one. */
  baseImageId?: string;
  /** Bake a new base image even when one with the current base hash exists. */
  rebuildBase?: boolean;
}

export type BuildStatus = "IN_PROGRESS" | "SUCCEEDED" | "FAILED";

export interface SimBuild {
  id: string;
  arn: string;
  projectName: string;
  request: BakeRequest;
  buildStatus: BuildStatus;
  startMs: number;
  /** When the build finishes (known at start: the durations are physical constants). */
  endMs: number;
  bakedBase: boolean;
  exported: { IMAGE_ID?: string; BASE_IMAGE_ID?: string };
  failureMessage?: string;
}

/** The `.sync` integration's output (`arn:aws:states:::codebuild:startBuild.sync`): PascalCase, as Step Functions returns it. */
export interface CodeBuildSyncOutput {
  Build: {
    Id: string;
    Arn: string;
    ProjectName: string;
    BuildStatus: BuildStatus;
    BuildComplete: boolean;
    StartTime: number;
    EndTime?: number;
    ExportedEnvironmentVariables: Array<{ Name: string; Value: string }>;
  };
}

/** CodeBuild environment-variable names the Pipeline stack passes (override when the stack names them differently). */
export interface BakeVariableNames {
  app: string;
  environment: string;
  release: string;
  artifactBucket: string;
  artifactKey: string;
  artifactVersionId: string;
  baseImageId: string;
  rebuildBase: string;
}

export const DEFAULT_BAKE_VARIABLE_NAMES: Readonly<BakeVariableNames> = {
  app: "APP",
  environment: "ENVIRONMENT",
  release: "RELEASE",
  artifactBucket: "ARTIFACT_BUCKET",
  artifactKey: "ARTIFACT_KEY",
  artifactVersionId: "ARTIFACT_VERSION_ID",
  baseImageId: "BASE_IMAGE_ID",
  rebuildBase: "REBUILD_BASE",
};

/** Reads a BakeRequest from CodeBuild `environmentVariablesOverride` entries ({ name, value } or { Name, Value }). */
export function bakeRequestFromVariables(
  variables: ReadonlyArray<{ name?: string; value?: string; Name?: string; Value?: string }>,
  names: BakeVariableNames = DEFAULT_BAKE_VARIABLE_NAMES,
): BakeRequest {
  const values = new Map(variables.map((v) => [v.name ?? v.Name ?? "", v.value ?? v.Value ?? ""]));
  const get = (name: string) => (values.get(name) ? values.get(name) : undefined);
  const bucket = get(names.artifactBucket);
  const key = get(names.artifactKey);
  return {
    app: get(names.app) ?? "",
    environment: get(names.environment) ?? "",
    release: get(names.release) ?? "",
    artifact: bucket && key ? { bucket, key, versionId: get(names.artifactVersionId) } : undefined,
    baseImageId: get(names.baseImageId),
    rebuildBase: get(names.rebuildBase) === "true",
  };
}

/**
 * The bake: a build runs bakeSeconds (plus baseBakeSeconds when no base image with the current base hash
 * is available, or a rebuild is asked for), creating the base image then the release image (each `pending`
 * for a while before `available`, with its snapshot), and exports IMAGE_ID and BASE_IMAGE_ID.
 */
export class CodeBuildService {
  readonly builds = new Map<string, SimBuild>();
  readonly bakes = { base: 0, release: 0 };
  /** Content hash of the base image inputs (Packer base template + scripts); change it to force a base bake. */
  baseHash = "base-0000000000000001";

  constructor(
    private readonly ctx: RegionContext,
    private readonly ec2: Ec2Service,
  ) {}

  /** An available base image of `app` with the current base hash, newest first. */
  findBaseImage(app: string): SimImage | undefined {
    return this.ec2
      .ownImages()
      .filter(
        (image) =>
          image.state === "available" &&
          tagValueOf(image.tags, TAG.app) === app &&
          tagValueOf(image.tags, TAG.role) === IMAGE_ROLE.base &&
          tagValueOf(image.tags, TAG.baseHash) === this.baseHash,
      )
      .sort((a, b) => b.createdAtMs - a.createdAtMs)[0];
  }

  startBuild(request: BakeRequest, projectName = "bake"): SimBuild {
    const now = this.ctx.clock.now();
    const { bakeSeconds, baseBakeSeconds } = this.ctx.timing;
    const n = this.ctx.ids.count("build");
    const id = `${projectName}:${n.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    let baseImage: SimImage | undefined;
    let failureMessage: string | undefined;
    if (request.baseImageId) {
      baseImage = this.ec2.images.get(request.baseImageId);
      if (!baseImage || baseImage.state !== "available") failureMessage = `Base image ${request.baseImageId} is not available`;
    } else if (!request.rebuildBase) {
      baseImage = this.findBaseImage(request.app);
    }
    const bakedBase = !failureMessage && !baseImage;
    const durationMs = ((bakedBase ? baseBakeSeconds : 0) + bakeSeconds) * 1000;
    if (!failureMessage && this.ctx.faults.takeBakeFailure()) failureMessage = "Build failed: packer exited with status 1 (injected fault)";
    const build: SimBuild = {
      id,
      arn: `arn:aws:codebuild:${this.ctx.regionName}:${this.ctx.account}:build/${id}`,
      projectName,
      request,
      buildStatus: "IN_PROGRESS",
      startMs: now,
      endMs: failureMessage ? now + Math.round(durationMs / 2) : now + durationMs,
      bakedBase,
      exported: {},
    };
    this.builds.set(id, build);
    if (failureMessage) {
      const message = failureMessage;
      this.ctx.scheduler.at(build.endMs, () => Object.assign(build, { buildStatus: "FAILED", failureMessage: message }), `build ${id} failed`);
      return build;
    }
    const commonTags: Tag[] = [
      { Key: TAG.app, Value: request.app },
      { Key: TAG.environment, Value: request.environment },
    ];
    const imageAvailableMs = REGION_DELAYS.imageAvailableSeconds * 1000;
    let baseImageId = baseImage?.imageId;
    if (bakedBase) {
      const baseDoneMs = now + baseBakeSeconds * 1000;
      this.ctx.scheduler.at(
        Math.max(now, baseDoneMs - imageAvailableMs),
        () => {
          const image = this.ec2.createImage({
            name: `${request.app}-base-${this.baseHash}-${baseDoneMs}`,
            tags: [...commonTags, { Key: TAG.role, Value: IMAGE_ROLE.base }, { Key: TAG.baseHash, Value: this.baseHash }],
            availableAtMs: baseDoneMs,
          });
          baseImageId = image.imageId;
          this.bakes.base += 1;
        },
        `build ${id} creates the base image`,
      );
    }
    this.ctx.scheduler.at(
      Math.max(now, build.endMs - imageAvailableMs),
      () => {
        const image = this.ec2.createImage({
          name: `${request.app}-${request.environment}-${request.release}-${build.endMs}`,
          tags: [...commonTags, { Key: TAG.release, Value: request.release }, { Key: TAG.role, Value: IMAGE_ROLE.release }],
          availableAtMs: build.endMs,
        });
        build.exported = { IMAGE_ID: image.imageId, BASE_IMAGE_ID: baseImageId };
        this.bakes.release += 1;
      },
      `build ${id} creates the release image`,
    );
    this.ctx.scheduler.at(build.endMs, () => (build.buildStatus = "SUCCEEDED"), `build ${id} succeeded`);
    return build;
  }

  /** Parks until the build ends (a scheduler wake-up), then returns it. */
  async waitForBuild(id: string): Promise<SimBuild> {
    const build = this.requireBuild(id);
    if (build.buildStatus === "IN_PROGRESS") await this.ctx.scheduler.wakeAt(build.endMs);
    return build;
  }

  requireBuild(id: string): SimBuild {
    const build = this.builds.get(id);
    if (!build) throw awsError("CodeBuild", "ResourceNotFoundException", `Build ${id} does not exist`);
    return build;
  }

  /** The finished build as Step Functions' `startBuild.sync` returns it (read IMAGE_ID with a JSONPath filter). */
  syncOutput(build: SimBuild): CodeBuildSyncOutput {
    return {
      Build: {
        Id: build.id,
        Arn: build.arn,
        ProjectName: build.projectName,
        BuildStatus: build.buildStatus,
        BuildComplete: build.buildStatus !== "IN_PROGRESS",
        StartTime: build.startMs,
        EndTime: build.buildStatus === "IN_PROGRESS" ? undefined : build.endMs,
        ExportedEnvironmentVariables: Object.entries(build.exported)
          .filter(([, value]) => value !== undefined)
          .map(([Name, Value]) => ({ Name, Value: Value as string })),
      },
    };
  }

  private toApiBuild(build: SimBuild): Record<string, unknown> {
    const sync = this.syncOutput(build).Build;
    return {
      id: sync.Id,
      arn: sync.Arn,
      projectName: sync.ProjectName,
      buildStatus: sync.BuildStatus,
      buildComplete: sync.BuildComplete,
      startTime: new Date(sync.StartTime),
      endTime: sync.EndTime === undefined ? undefined : new Date(sync.EndTime),
      exportedEnvironmentVariables: sync.ExportedEnvironmentVariables.map((v) => ({ name: v.Name, value: v.Value })),
    };
  }

  handlers(): OperationHandlers {
    return {
      StartBuild: (input: { projectName?: string; environmentVariablesOverride?: Array<{ name?: string; value?: string }> }) => {
        const build = this.startBuild(bakeRequestFromVariables(input.environmentVariablesOverride ?? []), input.projectName ?? "bake");
        return { build: this.toApiBuild(build) };
      },
      BatchGetBuilds: (input: { ids?: string[] }) => {
        const ids = input.ids ?? [];
        return {
          builds: ids.filter((id) => this.builds.has(id)).map((id) => this.toApiBuild(this.builds.get(id)!)),
          buildsNotFound: ids.filter((id) => !this.builds.has(id)),
        };
      },
    };
  }
}
