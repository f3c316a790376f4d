/**
 * Shared vitest setup: nothing in the tests may reach AWS, the instance metadata service or any other host
 * (dummy credentials stop the SDK's credential chain before it probes anything; the region is fixed).
 */
import "../simulator/offlineEnvironment.js";
import "../simulator/execution/polyfills.js";
