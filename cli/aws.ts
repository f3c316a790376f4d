/**
 * The SDK clients the CLI uses besides the stage functions' own (functions/lib/clients.ts, which the CLI reuses
 * with the helpers built on them). All are created with `{}`: region and credentials come from the
 * environment, which `configureAws` sets from --region and --profile before any client is used, so every
 * client of the process talks to the same account and region. The simulator attaches to them in tests.
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { S3Client } from "@aws-sdk/client-s3";

export const cloudFormation = new CloudFormationClient({});
export const s3 = new S3Client({});

/** Every client the CLI itself creates (the stage functions' are in functions/lib/clients.ts `allClients`). */
export const cliClients = [cloudFormation, s3] as const;

/**
 * Resolves the credentials once, up front: "no credentials" is then one clear message before anything is
 * read, instead of an error in the middle of a command.
 */
export async function checkCredentials(): Promise<void> {
  await cloudFormation.config.credentials();
}
