// Owns loading a CommonJS package with a dynamic import() the same way under
// Node and in the production bundle, for what is loaded only when configured
// (ioredis with REDIS_URL, the OTLP exporter with tracing).

/**
 * The package's exports, found by one export it must have: Node's import() of CommonJS gives named exports (and
 * `default`, module.exports); the production bundle (scripts/build.mjs, esbuild with code splitting) gives only
 * `default`. An ES module may have a `default` of its own (@opentelemetry/api does), so `default` is taken only
 * when the named export is missing.
 */
export function exportsOf<T extends object>(module: T, name: keyof T & string): T {
  if (name in module) return module;
  const fallback = (module as { default?: T }).default;
  // module.exports may be a function with properties (ioredis exports its Redis class so).
  if (fallback !== undefined && fallback !== null && name in fallback) return fallback;
  throw new Error(`the module has no export named ${name}`);
}
