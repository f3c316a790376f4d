/**
 * Signature Version 4 as the simulated region sees it. AWS checks a request's `Authorization` header before
 * anything else: present, in SigV4's form, and with a credential scope (`<key id>/<date>/<region>/<service>/
 * aws4_request`) naming the endpoint's region and the service's signing name, or it refuses the request
 * (IAM User Guide, "Troubleshoot Signature Version 4 signing for AWS API requests": 403 `SignatureDoesNotMatch`,
 * unsigned "Missing Authentication Token"; AWS's words "Credential should be scoped to a valid region" / "to correct
 * service", query services answer `SignatureDoesNotMatch`, HTTP 403, JSON services `InvalidSignatureException`,
 * HTTP 400, as aws/aws-sdk-go-v2#163 and aws/aws-sdk-ruby#431 record them; no `Authorization` at all is
 * `MissingAuthenticationToken`, HTTP 403: "Common Errors" of the query APIs).
 *
 * The region cannot check the signature itself (it knows no secret keys), so an attached client signs with
 * `RegionSigner`: the SDK's own signing middleware runs as ever (credentials resolved, signing region and name
 * from the endpoint's auth scheme, clock-skew correction), and the stand-in writes the headers SigV4 writes with
 * the real credential scope, but a fixed signature instead of SHA-256 and four HMACs over a canonical request, a
 * new signing key each request (the SDK builds a signer per request): 12-20 % of a simulated deploy's CPU.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, HttpRequest, Provider } from "@smithy/types";

/** What the stand-in writes where SigV4 writes the signature (64 hex digits, like a real one). */
export const SIMULATED_SIGNATURE = "0".repeat(64);

const provider = <T>(value: T | Provider<T>): Provider<T> => (typeof value === "function" ? (value as Provider<T>) : async () => value);

/** `20261203T120000Z` and `20261203`, SigV4's long and short dates. */
function sigV4Dates(date: Date): { longDate: string; shortDate: string } {
  const longDate = date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { longDate, shortDate: longDate.slice(0, 8) };
}

/**
 * The signer an attached client's `signerConstructor` builds (the SDK passes the options it gives SignatureV4:
 * credentials, region, service). Only `sign(request)` is used for HTTP requests.
 */
export class RegionSigner {
  private readonly credentials: Provider<AwsCredentialIdentity>;
  private readonly region: Provider<string>;
  private readonly service: string;

  constructor(options: { credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider; region: string | Provider<string>; service: string }) {
    this.credentials = provider(options.credentials as AwsCredentialIdentity | Provider<AwsCredentialIdentity>);
    this.region = provider(options.region);
    this.service = options.service;
  }

  async sign(request: HttpRequest, options: { signingDate?: Date; signingRegion?: string; signingService?: string } = {}): Promise<HttpRequest> {
    const credentials = await this.credentials();
    if (typeof credentials?.accessKeyId !== "string" || typeof credentials.secretAccessKey !== "string") {
      throw new Error("Resolved credential object is not valid");
    }
    const region = options.signingRegion ?? (await this.region());
    const service = options.signingService ?? this.service;
    const { longDate, shortDate } = sigV4Dates(options.signingDate ?? new Date());
    // A copy of the SDK's own request object (its class, as SignatureV4's clone keeps it), headers and query copied.
    const signed: HttpRequest = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as HttpRequest, request, {
      headers: { ...request.headers },
      query: { ...request.query },
    });
    signed.headers["x-amz-date"] = longDate;
    if (credentials.sessionToken) signed.headers["x-amz-security-token"] = credentials.sessionToken;
    signed.headers.authorization =
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${shortDate}/${region}/${service}/aws4_request, ` +
      `SignedHeaders=host;x-amz-date, Signature=${SIMULATED_SIGNATURE}`;
    return signed;
  }
}

/** SigV4's `Authorization` header: algorithm, then `Credential=<key id>/<date>/<region>/<service>/aws4_request, ...`. */
const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=[^,\s]+,\s*Signature=[0-9a-f]{64}$/;

/** Why AWS would refuse a request signed this way, or undefined when its signature is in order. */
export function signatureProblem(
  authorization: string | undefined,
  expected: { region: string; service: string },
): { kind: "missing" | "malformed" | "region" | "service"; message: string } | undefined {
  if (authorization === undefined) return { kind: "missing", message: "Request is missing Authentication Token" };
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return { kind: "malformed", message: "The request signature does not conform to AWS standards." };
  const [, region, service] = match;
  if (region !== expected.region) return { kind: "region", message: "Credential should be scoped to a valid region. " };
  if (service !== expected.service) return { kind: "service", message: `Credential should be scoped to correct service: '${expected.service}'. ` };
  return undefined;
}
