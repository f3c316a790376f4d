/** Types for base-hash.mjs (plain JS so CodeBuild can run it with `node`). */
export declare const BASE_TEMPLATE_DIR: string;
export declare function normalizeLockFile(lockText: string): string;
export declare function computeBaseHash(input: { packerDir: string; nodeVersion: string; lockFile: string }): string;
