/** Types for image-id.mjs (plain JS so CodeBuild can run it with `node`). */
export declare function assertImageId(name: string, value: unknown): string;
export declare function readManifestImageId(manifestText: string, region?: string): string;
