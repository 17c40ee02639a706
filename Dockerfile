# syntax=docker/dockerfile:1
# The control plane (NestJS API). Build: docker build -t pipeline-api .   (or: docker compose -f infra/docker-compose.yml build api)
# Stage 1 compiles TypeScript and builds the web console (dist/web) with the dev dependencies; stage 2 keeps
# production dependencies only.

FROM node:20.19.5-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY src ./src
RUN npm run build

FROM node:20.19.5-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    SOURCES_FILE=config/sources.yaml \
    SPARK_JOBS_DIR=/app/spark-jobs
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
COPY spark-jobs ./spark-jobs
# The image's unprivileged "node" user (uid 1000); the app only reads its files.
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=4", "dist/apps/api/main.js"]
