/**
 * Shared vitest setup: nothing in the tests may reach AWS, the instance metadata service or any other host.
 * Dummy credentials stop the SDK's credential chain before it probes anything; the region is fixed.
 */
process.env.AWS_ACCESS_KEY_ID = "AKIDTESTTESTTESTTEST";
process.env.AWS_SECRET_ACCESS_KEY = "test-secret-access-key";
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
process.env.AWS_REGION = "us-east-1";
process.env.AWS_DEFAULT_REGION = "us-east-1";
process.env.AWS_EC2_METADATA_DISABLED = "true";
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? "SILENT";
process.env.POWERTOOLS_DEV = "false";

import "../simulator/polyfills.js";
