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
# The native Parquet addon (native/, Rust) is built with the Rust toolchain this repository's CI uses
# (1.95), on the same Debian release as the Node image (bookworm), so the library links against the
# same glibc. Pinned by digest as the Node image is (DESIGN.md, "Pinned inputs").
ARG RUST_IMAGE=public.ecr.aws/docker/library/rust:1.95-slim-bookworm@sha256:d7482085ff5b415f84dba5647ae71606650bdef00db7aeb69f4b3d170c3e4082

FROM ${RUST_IMAGE} AS native
WORKDIR /native
COPY native/Cargo.toml native/Cargo.lock native/build.rs ./
COPY native/src ./src
RUN cargo build --release --locked && cp target/release/libstreaming_etl_native.so streaming-etl-native.node

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build-native.sh ./scripts/
# npm ci's prepare script skips the addon here (no cargo in this image): the native stage builds it.
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
COPY --from=native --chown=node:node /native/streaming-etl-native.node ./native/streaming-etl-native.node
USER node
# The processor takes a final checkpoint on SIGTERM (ECS stop timeout: 120 s).
STOPSIGNAL SIGTERM
# Node options: common/node-flags.ts (why, and what was measured).
CMD ["node", "--initial-old-space-size=256", "dist/processor/cli.js"]
