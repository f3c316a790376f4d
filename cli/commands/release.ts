import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { RELEASE_LABEL_PATTERN, RELEASE_LABEL_RULE } from "../../functions/lib/contract.js";
import { DEFAULTS } from "../../functions/lib/names.js";
import { packRelease, PackReleaseError } from "../../scripts/pack-release.js";
import { s3 } from "../aws.js";
import { describeExecution, exitCodeOf, listExecutions } from "../deploys.js";
import { CliError, EXIT } from "../errors.js";
import { follow } from "../follow.js";
import type { CommandContext } from "../main.js";
import type { Stage } from "../stage.js";

/** How long the upload may take to start its deploy (EventBridge delivers within seconds). */
const START_TIMEOUT_MS = 120_000;
/** Executions started this long before the upload's local time still count (clock skew). */
const CLOCK_SKEW_MS = 300_000;
const GZIP_MAGIC = [0x1f, 0x8b];

interface Artifact {
  release: string;
  body: Uint8Array;
  /** What was packed or read, for the message. */
  source: string;
}

function checkLabel(release: string, where: string): void {
  if (!RELEASE_LABEL_PATTERN.test(release)) throw new CliError(`${where}: ${JSON.stringify(release)} is not a release label; allowed: ${RELEASE_LABEL_RULE}`);
}

/** The release artifact: a folder packed with scripts/pack-release.ts, or a .tgz as it is. */
async function artifactOf(path: string, label: string | undefined): Promise<Artifact> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new CliError(`<app-dir|file.tgz>: ${JSON.stringify(path)} does not exist; allowed: an app folder with package.json and package-lock.json, or a packed release .tgz`);
  }
  if (label !== undefined) checkLabel(label, "--label");
  if (isDirectory) {
    let version: unknown;
    try {
      version = JSON.parse(readFileSync(join(path, "package.json"), "utf8")).version;
    } catch {
      // packRelease says what is wrong with the folder.
    }
    const release = label ?? (typeof version === "string" ? `v${version}` : undefined);
    if (release === undefined) throw new CliError(`--label: missing, and ${join(path, "package.json")} has no version to derive it from; allowed: --label <release>, e.g. --label v2`);
    checkLabel(release, label === undefined ? `--label (from package.json version ${JSON.stringify(version)})` : "--label");
    const dir = mkdtempSync(join(tmpdir(), "immutable-deploy-release-"));
    try {
      const packed = await packRelease({ appDir: path, release, outFile: join(dir, `${release}.tgz`) });
      return { release, body: readFileSync(packed.outFile), source: `${path} (packed: ${packed.entries.join(", ")})` };
    } catch (error) {
      if (error instanceof PackReleaseError) throw new CliError(`<app-dir>: ${error.message}`);
      throw error;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (!path.endsWith(DEFAULTS.artifactSuffix)) throw new CliError(`<file.tgz>: ${JSON.stringify(path)} is not a .tgz; allowed: an app folder, or a release packed by scripts/pack-release.ts`);
  const body = readFileSync(path);
  if (body[0] !== GZIP_MAGIC[0] || body[1] !== GZIP_MAGIC[1]) throw new CliError(`<file.tgz>: ${JSON.stringify(path)} is not gzip data; allowed: a release packed by scripts/pack-release.ts`);
  const release = label ?? basename(path).slice(0, -DEFAULTS.artifactSuffix.length);
  if (label === undefined && !RELEASE_LABEL_PATTERN.test(release))
    throw new CliError(`<file.tgz>: the file name gives release label ${JSON.stringify(release)}, which is not a release label; allowed: ${RELEASE_LABEL_RULE}, or --label <release>`);
  return { release, body, source: path };
}

/** The execution the upload started (the EventBridge rule's), found by the object's key and version. */
async function executionOfUpload(context: CommandContext, stage: Stage, key: string, versionId: string | undefined, uploadedAt: number): Promise<string> {
  const checked = new Set<string>();
  const deadline = context.now() + START_TIMEOUT_MS;
  for (;;) {
    const candidates = (await listExecutions(stage.stateMachineArn, { max: 20 }))
      .filter((e) => (e.startDate?.getTime() ?? 0) >= uploadedAt - CLOCK_SKEW_MS && !checked.has(e.executionArn ?? ""))
      .reverse(); // oldest first: a duplicate delivery of the same event starts a second execution, which is a no-op
    for (const candidate of candidates) {
      checked.add(candidate.executionArn ?? "");
      const execution = await describeExecution(stage.stateMachineArn, candidate.executionArn ?? "");
      const input = JSON.parse(execution.input ?? "{}");
      const object = input?.source === "aws.s3" ? input.detail?.object : undefined;
      if (object?.key === key && (versionId === undefined || object["version-id"] === versionId)) return execution.executionArn ?? "";
    }
    if (context.now() >= deadline)
      throw new CliError(
        `the upload of s3://${stage.artifactBucket}/${key} started no deploy within ${START_TIMEOUT_MS / 1000} s: ` +
          `is the Pipeline's EventBridge rule (ReleaseUploaded) enabled? \`npx immutable-deploy watch --stage ${stage.name}\` follows it if it starts later`,
        EXIT.failed,
      );
    context.printer.status(`  ... waiting for the upload to start its deploy`);
    await context.sleep(Math.min(context.pollMs, 2000));
  }
}

/** `release <app-dir|file.tgz> [--label L]`: pack, upload under the release prefix (that starts the deploy), follow it. */
export async function run(context: CommandContext, stageName: string, path: string, label?: string): Promise<number> {
  const { printer } = context;
  const artifact = await artifactOf(path, label);
  const stage = await context.stage(stageName);
  const key = `${DEFAULTS.artifactPrefix}${artifact.release}${DEFAULTS.artifactSuffix}`;
  printer.line(`uploading ${artifact.source} to s3://${stage.artifactBucket}/${key} (the upload starts the deploy)`);
  const uploadedAt = context.now();
  const put = await s3.send(new PutObjectCommand({ Bucket: stage.artifactBucket, Key: key, Body: artifact.body, ContentType: "application/gzip" }));
  const executionArn = await executionOfUpload(context, stage, key, put.VersionId, uploadedAt);
  printer.line(printer.colors.dim(`deploy ${executionArn.slice(executionArn.lastIndexOf(":") + 1)} started in ${stage.name}`));
  const { summary, lines } = await follow(context, stage, executionArn);
  printer.result({
    command: "release",
    stage: stage.name,
    release: artifact.release,
    artifact: { bucket: stage.artifactBucket, key, versionId: put.VersionId ?? null },
    deploy: summary,
    progress: lines,
  });
  return exitCodeOf(summary);
}
