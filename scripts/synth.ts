/**
 * `npm run synth -- --stage <stage> [--nag] [--bundle] [--out .synth]`: synthesizes every stack offline and
 * writes `<out>/<stage>/<StackName>.template.json`. No AWS credentials or network needed; what only `sst
 * deploy` decides (lookups, refused placeholders) is printed as notes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { readOptions, runCommand, UsageError } from "./cli.js";

const USAGE = `Usage: npm run synth -- --stage <stage> [--nag] [--bundle] [--out <dir>]
Synthesizes every stack of the stage offline, as sst deploy would, into <dir>/<stage>/<StackName>.template.json.

  --stage <stage>   a stage of stacks/config.ts
  --nag             run cdk-nag AwsSolutions; an unsuppressed finding fails the command
  --bundle          build the Lambda code with esbuild, as a deploy does (default: a placeholder)
  --out <dir>       where to write (default .synth)
  -h, --help        this text`;

async function main(argv: string[]): Promise<number> {
  const values = readOptions(argv, {
    stage: { type: "string", allowed: "a stage of stacks/config.ts" },
    nag: { type: "boolean" },
    bundle: { type: "boolean" },
    out: { type: "string", allowed: "a directory" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.stage) throw new UsageError("--stage", "missing", "a stage of stacks/config.ts");
  // Never let the SDK reach for credentials or the metadata service during synthesis.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  const { STACK_IDS, synthesizeApp } = await import("../stacks/synthesize.js");
  const synthesized = await synthesizeApp(values.stage, { nag: values.nag ?? false, bundle: values.bundle ?? false });
  const dir = path.join(values.out ?? ".synth", values.stage);
  await mkdir(dir, { recursive: true });
  let nagErrors = 0;
  for (const id of STACK_IDS) {
    const file = path.join(dir, `${synthesized.stackName(id)}.template.json`);
    await writeFile(file, JSON.stringify(synthesized.template(id), null, 2) + "\n");
    const resources = Object.keys(synthesized.template(id).Resources ?? {}).length;
    console.log(`synth: wrote ${file} (${resources} resources)`);
    for (const error of synthesized.nagErrors(id)) {
      nagErrors++;
      console.error(`synth: cdk-nag ${error}`);
    }
  }
  for (const note of synthesized.notes) console.log(`synth: note: ${note}`);
  if (nagErrors) throw new Error(`${nagErrors} unsuppressed cdk-nag error(s)`);
  return 0;
}

runCommand("synth", "npm run synth -- --help", () => main(process.argv.slice(2)));
