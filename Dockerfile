# syntax=docker/dockerfile:1
# The gateway's image. docs/operators.md#container tells how to run it: mount a folder holding config.json at
# /etc/court-file-gateway and keep /var/lib/court-file-gateway (database and keys) on a volume.

# Build stage: compile TypeScript (better-sqlite3 builds its native module here), then drop dev dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Build tools only, never shipped: pinning their Debian versions would only break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY examples ./examples
COPY scripts ./scripts
COPY console ./console
COPY openapi ./openapi
RUN npm run build && npm prune --omit=dev

# Runtime stage: compiled code, production dependencies, the specs and the shipped directory, owned by root
# and read-only to the gateway user, which can write only its data folder.
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    GATEWAY_CONFIG=/etc/court-file-gateway/config.json
WORKDIR /app
RUN groupadd --system --gid 10001 gateway \
  && useradd --system --uid 10001 --gid gateway --home-dir /var/lib/court-file-gateway --no-create-home --shell /usr/sbin/nologin gateway \
  && mkdir -p /var/lib/court-file-gateway /etc/court-file-gateway \
  && chown gateway:gateway /var/lib/court-file-gateway && chmod 0700 /var/lib/court-file-gateway
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY openapi ./openapi
COPY config ./config
USER gateway
VOLUME ["/var/lib/court-file-gateway"]
EXPOSE 8080
# The probe reads the port from the same configuration as `serve` (and honours GATEWAY_PORT like it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["node", "/app/dist/src/cli.js", "healthcheck"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["serve"]
