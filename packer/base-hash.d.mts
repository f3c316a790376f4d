/** Types for base-hash.mjs (plain JS so CodeBuild can run it with `node`). */
export declare const BASE_TEMPLATE_DIR: string;
export declare function normalizeLockFile(lockText: string): string;
export declare function computeBaseHash(input: { packerDir: string; nodeVersion: string; lockFile: string }): string;
export declare const NODE_VERSION_PATTERN: RegExp;
export declare const BASE_HASH_USAGE: string;
/** The command line's options, checked; throws an Error named "UsageError" for bad input. */
export declare function parseBaseHashArgs(argv: string[]): { help: true } | { help?: undefined; packerDir: string; nodeVersion: string; lockFile: string };
