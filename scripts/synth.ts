/**
 * `npm run synth -- --stage <stage> [--nag] [--bundle] [--out .synth]`: synthesizes every stack offline and
 * writes `<out>/<stage>/<StackName>.template.json`. No AWS credentials or network needed; what only `sst
 * deploy` decides (lookups, refused placeholders) is printed as notes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { STACK_IDS, synthesizeApp } from "../stacks/synthesize.js";

const USAGE = "usage: npm run synth -- --stage <stage> [--nag] [--bundle] [--out .synth]";

async function main() {
  const { values } = parseArgs({
    options: {
      stage: { type: "string" },
      nag: { type: "boolean", default: false },
      bundle: { type: "boolean", default: false },
      out: { type: "string", default: ".synth" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  if (!values.stage) throw new Error(`--stage is required; ${USAGE}`);
  // Never let the SDK reach for credentials or the metadata service during synthesis.
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  const synthesized = await synthesizeApp(values.stage, { nag: values.nag, bundle: values.bundle });
  const dir = path.join(values.out, values.stage);
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
}

main().catch((error: unknown) => {
  console.error(`synth: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
