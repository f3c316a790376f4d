/**
 * The simulated region at the SDK's transport: each attached client's `requestHandler`. It receives the
 * serialized, signed `HttpRequest` the SDK built (after its retry middleware), reads the operation and input
 * off the wire with the service's model (wire/), lets the region answer (region.answer: count, faults,
 * handler), waits the answer's latency on region time, and returns an `HttpResponse` in the service's protocol.
 * Everything between `send` and the wire runs as in Lambda: serializers, the configured retry strategy and its
 * back-offs, signing, response and error parsing.
 */
import type { HttpRequest, HttpResponse, RequestHandler } from "@smithy/types";
import { LostResponse, type RegionError, type ServiceName } from "./errors.js";
import type { RegionAnswer, SimulatedRegion } from "./region.js";
import { signatureProblem } from "./signing.js";
import { UnmodelledOperationError } from "./region.js";
import { currentRegionTime, outsideRegionTime, sleepOnRegionTime } from "./virtualTime.js";
import { jsonContentType, queryCompatibleErrorHeader, readJsonRequest, writeJsonError, writeJsonResponse } from "./wire/json.js";
import { type ServiceModel, serviceModel } from "./wire/models.js";
import { readQueryRequest, writeQueryError, writeQueryResponse } from "./wire/query.js";
import { readRestRequest, writeRestError, writeRestResponse } from "./wire/rest.js";

/** The code the transport answers warm-up requests with (they never reach the region). */
export const WARM_UP_ERROR_CODE = "SimulatedRegionWarmUp";

function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return new Uint8Array();
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  throw new Error(`the simulated region reads string or byte request bodies, got ${typeof body}`);
}

/** The operation a request names and its input, read as the service's protocol puts them on the wire. */
function readRequest(request: HttpRequest, model: ServiceModel): { operation: string; input: Record<string, unknown> } {
  const bytes = bodyBytes(request.body);
  // The SDK's JSON body is a Uint8Array subclass that warns when read as a string: decode the bytes.
  const text = () => new TextDecoder().decode(bytes);
  switch (model.metadata.protocol) {
    case "json":
      return readJsonRequest(header(request, "x-amz-target") ?? "", text(), model);
    case "rest-xml":
      return readRestRequest(request, bytes, model);
    default:
      return readQueryRequest(text(), model);
  }
}

function header(request: HttpRequest, name: string): string | undefined {
  const key = Object.keys(request.headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : request.headers[key];
}

/** The error AWS answers a request whose signature it refuses with (signing.ts), in the service's protocol's words. */
function signatureError(model: ServiceModel, problem: NonNullable<ReturnType<typeof signatureProblem>>): Pick<RegionError, "code" | "message" | "fault" | "httpStatusCode"> {
  if (problem.kind === "missing") return { code: model.metadata.protocol === "json" ? "MissingAuthenticationTokenException" : "MissingAuthenticationToken", message: problem.message, fault: "client", httpStatusCode: 403 };
  if (problem.kind === "malformed") return { code: "IncompleteSignature", message: problem.message, fault: "client", httpStatusCode: 400 };
  return model.metadata.protocol === "json"
    ? { code: "InvalidSignatureException", message: problem.message, fault: "client", httpStatusCode: 400 }
    : { code: "SignatureDoesNotMatch", message: problem.message, fault: "client", httpStatusCode: 403 };
}

/** A request that never gets an answer (a frozen Lambda sandbox's, or one whose answer was lost). */
const never = <T>() => new Promise<T>(() => undefined);

export class RegionHttpHandler implements RequestHandler<HttpRequest, HttpResponse> {
  readonly metadata = { handlerProtocol: "simulated-region" };
  private readonly model: ServiceModel | undefined;

  constructor(
    private readonly region: SimulatedRegion,
    private readonly service: ServiceName,
  ) {
    this.model = serviceModel(service);
  }

  async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    const time = currentRegionTime() ?? this.region.time;
    if (time.sandbox?.frozen) return never();
    const model = this.model;
    if (!model) throw new UnmodelledOperationError(`${this.service}:${request.path}`);
    const { operation, input } = readRequest(request, model);
    const requestId = this.region.nextRequestId();
    if (time.warmUp) {
      return { response: this.errorResponse(model, { code: WARM_UP_ERROR_CODE, message: "warm-up", fault: "client", httpStatusCode: 400 }, requestId, request.method) };
    }
    // AWS authenticates a request before it reads it: a signature scoped to another region or service is refused.
    const signature = signatureProblem(header(request, "authorization"), { region: this.region.regionName, service: model.metadata.endpointPrefix ?? "" });
    if (signature) return { response: this.errorResponse(model, signatureError(model, signature), requestId, request.method) };
    if (!model.operations[operation]) {
      this.region.unmodelledCalls.push(`${this.service}:${operation}`);
      throw new UnmodelledOperationError(`${this.service}:${operation || "(no operation)"}`);
    }
    // AWS's side of the call runs outside region time: its own processes use their own timers.
    let answer: RegionAnswer;
    try {
      answer = outsideRegionTime(() => this.region.answer(this.service, operation, input));
    } catch (error) {
      // The region acted, its answer never arrives: the caller waits until its own timeout strikes.
      if (error instanceof LostResponse) return never();
      throw error;
    }
    await sleepOnRegionTime(time, answer.latencyMs);
    // A Lambda that timed out meanwhile never reads the answer.
    if (time.sandbox?.frozen) return never();
    const response = answer.error
      ? this.errorResponse(model, answer.error, requestId, request.method)
      : this.okResponse(model, operation, (answer.output ?? {}) as Record<string, unknown>, requestId);
    return { response };
  }

  private okResponse(model: ServiceModel, operation: string, output: Record<string, unknown>, requestId: string): HttpResponse {
    if (model.metadata.protocol === "json") {
      return this.response(200, { "content-type": jsonContentType(model), "x-amzn-requestid": requestId }, writeJsonResponse(operation, output, model));
    }
    if (model.metadata.protocol === "rest-xml") {
      const { headers, body } = writeRestResponse(operation, output, model);
      return this.response(200, { "x-amz-request-id": requestId, ...headers }, body);
    }
    return this.response(200, { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": requestId }, writeQueryResponse(operation, output, model, requestId));
  }

  private errorResponse(
    model: ServiceModel,
    error: Pick<RegionError, "code" | "message" | "fault" | "httpStatusCode"> & { fields?: Record<string, unknown> },
    requestId: string,
    method: string,
  ): HttpResponse {
    if (model.metadata.protocol === "rest-xml") {
      return this.response(error.httpStatusCode, { "content-type": "application/xml", "x-amz-request-id": requestId }, writeRestError(error, requestId, method));
    }
    if (model.metadata.protocol === "json") {
      return this.response(
        error.httpStatusCode,
        { "content-type": jsonContentType(model), "x-amzn-requestid": requestId, "x-amzn-errortype": error.code, ...queryCompatibleErrorHeader(model, error) },
        writeJsonError(error),
      );
    }
    return this.response(error.httpStatusCode, { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": requestId }, writeQueryError(model, error, requestId));
  }

  private response(statusCode: number, headers: Record<string, string>, text: string): HttpResponse {
    const body = new Uint8Array(Buffer.from(text, "utf8"));
    return {
      statusCode,
      reason: undefined,
      // A HEAD answer's Content-Length is the object's (S3 HeadObject), given in `headers`.
      headers: { "content-length": String(body.byteLength), ...headers, date: new Date(this.region.now()).toUTCString() },
      body,
    } as HttpResponse;
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }

  destroy(): void {}
}
