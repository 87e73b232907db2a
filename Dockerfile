# Rebound image: the `rebound` CLI, compiled, with production dependencies only.
#   docker build -t rebound .
#   docker run --rm rebound                       # a worker (needs TEMPORAL_ADDRESS, DATABASE_URL, REBOUND_SMTP_URL)
#   docker run --rm rebound node dist/src/db/setup-cli.js   # create the database and apply migrations/
# docker-compose.yml runs both against a full local stack.

# Pinned patch release of the Node 20 line (package.json: engines.node >=20.19).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

##### build: all dependencies, TypeScript compiled to dist/ #####
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, so editing sources does not invalidate this layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

COPY tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY test ./test
# tsconfig.json also compiles the tests (and bench/, when present); the image does not need them.
RUN npx tsc -p tsconfig.json \
  && rm -rf dist/test dist/bench

##### runtime: production node_modules, dist/, bin/, migrations/ #####
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app

# Production dependencies only. @temporalio/worker keeps webpack and @swc/core here: the worker
# bundles dist/workflows when it starts. The install scripts that run (@swc/core, protobufjs)
# are plain node scripts, so the slim image needs no compiler.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  && npm cache clean --force

COPY --from=build /app/dist ./dist
COPY bin ./bin
# setup-cli resolves migrations/ as ../../../migrations from dist/src/db, i.e. /app/migrations.
COPY migrations ./migrations
# The dashboard's page, script and stylesheet, read at run time (README "Dashboard").
COPY src/api/ui/assets ./src/api/ui/assets

# Files stay owned by root (read-only to the process); nothing is written under /app at runtime.
USER node

CMD ["node", "--max-old-space-size=256", "bin/rebound.js", "worker"]
