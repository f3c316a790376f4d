import type { Tag } from "@aws-sdk/client-ec2";
import type { BakeRequest } from "../../../functions/lib/contract.js";
import { IMAGE_ROLE, TAG } from "../../../functions/lib/names.js";
import type { RegionContext } from "../context.js";
import { awsError } from "../errors.js";
import { REGION_DELAYS } from "../timing.js";
import { type Ec2Service, type SimImage, tagValueOf } from "./ec2.js";

/**
 * What a build is asked to bake: the project's own variables (`APP`, `ENVIRONMENT`, set by the Pipeline
 * stack) and the execution's (`BAKE_VARIABLES` of the contract, set by the Bake state).
 */
export interface SimBakeRequest extends BakeRequest {
  APP: string;
  ENVIRONMENT: string;
}

export type BuildStatus = "IN_PROGRESS" | "SUCCEEDED" | "FAILED";

export interface SimBuild {
  id: string;
  arn: string;
  projectName: string;
  request: SimBakeRequest;
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

  startBuild(request: SimBakeRequest, projectName = "bake"): SimBuild {
    const now = this.ctx.clock.now();
    const { bakeSeconds, baseBakeSeconds } = this.ctx.timing;
    const n = this.ctx.ids.count("build");
    const id = `${projectName}:${n.toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
    let baseImage: SimImage | undefined;
    let failureMessage: string | undefined;
    if (request.BASE_IMAGE_ID) {
      baseImage = this.ec2.images.get(request.BASE_IMAGE_ID);
      if (!baseImage || baseImage.state !== "available") failureMessage = `Base image ${request.BASE_IMAGE_ID} is not available`;
    } else if (request.REBUILD_BASE !== "true") {
      baseImage = this.findBaseImage(request.APP);
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
      { Key: TAG.app, Value: request.APP },
      { Key: TAG.environment, Value: request.ENVIRONMENT },
    ];
    const imageAvailableMs = REGION_DELAYS.imageAvailableSeconds * 1000;
    let baseImageId = baseImage?.imageId;
    if (bakedBase) {
      const baseDoneMs = now + baseBakeSeconds * 1000;
      this.ctx.scheduler.at(
        Math.max(now, baseDoneMs - imageAvailableMs),
        () => {
          const image = this.ec2.createImage({
            name: `${request.APP}-base-${this.baseHash}-${baseDoneMs}`,
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
          name: `${request.APP}-${request.ENVIRONMENT}-${request.RELEASE}-${build.endMs}`,
          tags: [...commonTags, { Key: TAG.release, Value: request.RELEASE }, { Key: TAG.role, Value: IMAGE_ROLE.release }],
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
}
