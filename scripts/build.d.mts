// Types for scripts/build.mjs, which bench/speed/harness.ts imports.
export function buildGateway(entry?: string, outdir?: string): Promise<void>;
