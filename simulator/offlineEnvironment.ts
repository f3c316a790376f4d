/**
 * Imported first by every offline entry point (the rehearsal, `simulate`, `bench`, the test setup), before
 * any SDK client or logger exists: all of them run on this machine only. Dummy credentials and a fixed region stop the SDK's credential and region chains
 * before they probe anything (every client is attached to the simulated region anyway), and the stage
 * functions' JSON logs stay quiet unless POWERTOOLS_LOG_LEVEL asks for them.
 */
process.env.AWS_ACCESS_KEY_ID = "AKIDOFFLINELOCAL0000";
process.env.AWS_SECRET_ACCESS_KEY = "offline-local-not-a-secret";
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
process.env.AWS_REGION = "us-east-1";
process.env.AWS_DEFAULT_REGION = "us-east-1";
process.env.AWS_EC2_METADATA_DISABLED = "true";
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
// These run on whatever Node this machine has (>= 20); the SDK's Node 22 notice is not for their users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
process.env.POWERTOOLS_LOG_LEVEL = process.env.POWERTOOLS_LOG_LEVEL ?? "SILENT";
process.env.POWERTOOLS_DEV = "false";
export {};
