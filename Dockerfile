# The processor image (`cdk deploy` builds it as a container image asset; the one-click template's
# CodeBuild project builds it from the pinned source archive, lib/image-build.ts).
#   docker build -t streaming-etl .
# Node 22 (the AWS SDK for JavaScript requires it from January 2027), from ECR Public's mirror of the
# Docker official images: CodeBuild pulls without Docker Hub's anonymous rate limit.
# The base image is pinned by the digest of its multi-platform index, so a rebuild from the same
# source archive uses the same bytes (test/infra/one-click.test.ts checks that every FROM is pinned).
# To take a newer patched Node 22, build with `--build-arg NODE_IMAGE=…@sha256:<digest>` and, once
# tested, change the default here. Where the digest came from and what was checked: DESIGN.md,
# "Pinned inputs".
ARG NODE_IMAGE=public.ecr.aws/docker/library/node:22-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common ./common
COPY processor ./processor
COPY replay ./replay
COPY local ./local
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
# The processor takes a final checkpoint on SIGTERM (ECS stop timeout: 120 s).
STOPSIGNAL SIGTERM
CMD ["node", "dist/processor/cli.js"]
