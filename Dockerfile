# Partner Center GraphQL gateway: the compiled build on Node 24 LTS, as a non-root user.
# The image is pinned to the Node release CI tests on (scripts/node-runtime.sh installs the same line); move both together.
#   docker build -t partner-center-gateway .
#   docker run -p 4000:4000 -e PARTNER_CENTER_CLOUD=public partner-center-gateway

# Build stage: every dependency, then esbuild bundles src/ and the dependencies into dist/ (scripts/build.mjs).
FROM node:24.22.3-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

# Run stage: the bundle, which needs nothing from node_modules; no TypeScript, no tsx. The production dependencies
# are installed all the same so that image scanners (which read node_modules and the lockfile) see the versions
# the bundle carries.
FROM node:24.22.3-slim
ENV NODE_ENV=production PORT=4000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself is PID 1 and handles SIGTERM (drain, then exit 0); no shell in between to swallow the signal. The flags are
# `npm start`'s (test/compiled-build.test.ts holds the two alike).
CMD ["node", "--enable-source-maps", "dist/main.js"]
