# syntax=docker/dockerfile:1

# ---- build: dependencies, native modules, Prisma clients, TypeScript ----
FROM node:24-bookworm-slim AS build

# better-sqlite3 is compiled from source when no prebuilt binary matches the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so this layer is reused until the lockfile changes. --ignore-scripts skips Gatehouse's own
# `prepare` script (a build, which needs the sources copied below) and Prisma's engine download (Gatehouse uses no
# native Prisma engine); the two native modules are then built explicitly.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 argon2

COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY scripts ./scripts
COPY prisma ./prisma
COPY src ./src
COPY views ./views
COPY public ./public
COPY bin ./bin
RUN npm run build

# Keep what runs in production. --ignore-scripts: nothing may start the `prepare` build once the compiler is gone.
# The Prisma CLI (`prisma`, listed under dependencies) is only needed to generate the clients above: the server imports
# @prisma/client's runtime and the driver adapters, and applies migrations with its own migrator.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm uninstall prisma --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    DATA_DIR=/data \
    PORT=3000

WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/views ./views
COPY --from=build /app/public ./public
# The SQL migrations under prisma/ are read at every start.
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/bin ./bin
COPY --from=build /app/package.json ./package.json

# SQLite database (when DATABASE_URL is not set) lives here; the application files stay owned by root.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]

USER node
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Production needs GATEHOUSE_SECRET, and an https ISSUER unless it is localhost.
CMD ["node", "dist/src/main.js"]
