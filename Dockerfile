# syntax=docker/dockerfile:1
# Build stage: compile TypeScript (better-sqlite3 builds its native module here).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY examples ./examples
COPY scripts ./scripts
COPY openapi ./openapi
RUN npm run build && npm prune --omit=dev

# Runtime stage: only the compiled code, production dependencies, the specs and the config.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --system gateway && useradd --system --gid gateway --home /app gateway \
  && mkdir -p /var/lib/court-file-gateway && chown gateway:gateway /var/lib/court-file-gateway
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY openapi ./openapi
COPY config ./config
USER gateway
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.GATEWAY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve", "--config", "/etc/court-file-gateway/config.json"]
