/**
 * Exit codes and the errors the operator CLI reports without a stack trace. No SDK imports: `--help` loads this.
 */

export const EXIT = {
  /** Done; a deploy it followed succeeded (or had nothing to do). */
  ok: 0,
  /** A deploy it followed failed, rolled back or was aborted: the environment is as it was before. */
  failed: 1,
  /** Nothing was done: bad input, a stage that is not deployed, no credentials, an unknown release, a refusal. */
  refused: 2,
  /** A deploy needs attention: it stopped after the new release went live, holding the lock (redrive it). */
  attention: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI explains in one message (what, the value, what is allowed or what to do) and exits on. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.refused,
  ) {
    super(message);
  }
}

/** The SDK's error for no credentials anywhere in its chain (env, SSO, shared files, process, container, IMDS). */
export function isMissingCredentials(error: unknown): boolean {
  return (error as Error)?.name === "CredentialsProviderError";
}

/** The error's AWS code (`name` for the SDK's modeled and unmodeled errors, `Code` on query-protocol ones). */
export function awsErrorCode(error: unknown): string | undefined {
  const e = error as { name?: string; Code?: string };
  return e?.Code ?? e?.name;
}

const EXPIRED = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId", "UnrecognizedClientException"]);
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);

/** The CLI's message for an AWS error it did not expect: credentials and permissions said plainly, the rest as AWS put it. */
export function explainAwsError(error: unknown, profile: string | undefined): CliError | undefined {
  const code = awsErrorCode(error);
  const message = (error as Error)?.message ?? String(error);
  const who = profile ? `profile "${profile}"` : "the default credentials";
  if (isMissingCredentials(error))
    return new CliError(
      `no AWS credentials found for ${who}: ${message}; allowed: --profile <name> (or AWS_PROFILE) of ~/.aws/config, ` +
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or `aws sso login` first",
    );
  if (code && EXPIRED.has(code)) return new CliError(`the AWS credentials of ${who} are expired or invalid (${code}): ${message}; renew them (e.g. \`aws sso login\`) and try again`);
  if (code && DENIED.has(code)) return new CliError(`not allowed with ${who} (${code}): ${message}; README "Day two" lists the permissions the CLI needs`);
  return undefined;
}
