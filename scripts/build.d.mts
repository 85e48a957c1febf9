// Types for scripts/build.mjs, which bench/speed/harness.ts and bench/startup.ts import.
export function buildGateway(entry?: string, outdir?: string, options?: { packageMappings?: boolean }): Promise<void>;

/** A version 3 source map without sourcesContent. */
export interface SourceMapV3 {
  version: number;
  sources: string[];
  names: string[];
  mappings: string;
}
export function withoutPackages(map: SourceMapV3): SourceMapV3;
