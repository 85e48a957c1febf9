import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // One graphql instance for src and its dependencies: vite would give src graphql's ESM build (index.mjs) while
    // yoga, Armor and Pothos load the CommonJS one through Node, so every `instanceof GraphQLError` (error masking,
    // HTTP status) would fail and deliberate errors would reach clients as INTERNAL_SERVER_ERROR with HTTP 500.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // A throwaway CA and server certificate first: it sets NODE_EXTRA_CA_CERTS, which Node reads at process start,
    // so the forked workers trust the https stand-ins without any test passing a CA.
    // Then `npm run build`, once: the compiled-build, OTLP and shutdown tests start dist/main.js.
    globalSetup: ['test/support/tls.ts', 'test/support/build.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Tests start loopback servers on port 0; files run in parallel on the two cores.
    pool: 'forks',
  },
});
