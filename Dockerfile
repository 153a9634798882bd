# syntax=docker/dockerfile:1
#
# The medstream CLI as a container image: every stage of the pipeline (ingest, process, sink)
# and the one-shot commands (build-dictionary) run from this one image with different
# arguments. Build from the repository root:
#
#   docker build -t medstream:0.1.0 .
#
# What is in the image: the compiled CLI, its production dependencies, the Avro schemas and the
# served models (models/<name>/). What is not: the data root (corpora, vocabularies — mounted at
# /data when the normalization dictionary is built) and the dictionary itself (built into a
# volume by `medstream build-dictionary`; see docs/operations.md).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# .npmrc comes first: it makes onnxruntime-node's install script skip the GPU binary download
# (the CPU binaries ship inside the npm package), which `npm ci` would otherwise attempt.
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY schemas ./schemas
RUN npm run build && npm prune --omit=dev
# onnxruntime-node ships native binaries for every platform (~290 MB); the image runs Linux only.
RUN rm -rf node_modules/onnxruntime-node/bin/napi-v*/darwin node_modules/onnxruntime-node/bin/napi-v*/win32

FROM ${NODE_IMAGE} AS runtime
# MEDSTREAM_CACHE holds the normalization dictionary (<cache>/dictionary, read by `process`),
# ingest checkpoints and update-file downloads: mount a volume there for anything that must
# survive a restart. MEDSTREAM_DATA is where the data root is mounted for build-dictionary;
# the other commands never read it.
ENV MEDSTREAM_CACHE=/var/lib/medstream/cache \
    MEDSTREAM_DATA=/data
WORKDIR /app
RUN mkdir -p /var/lib/medstream/cache/dictionary \
    && chown -R node:node /var/lib/medstream
# Application files stay owned by root: the process (user node) can read but not change them.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schemas ./schemas
# Served models only (.dockerignore leaves out the Python training package); the default
# MEDSTREAM_MODEL_DIR, models/bc5cdr-mtl, resolves against WORKDIR /app.
COPY models ./models
USER node
# The ops server of long-running commands: /metrics, /healthz, /readyz (MEDSTREAM_OPS_PORT).
EXPOSE 9464
# No HEALTHCHECK: one-shot commands (build-dictionary) share the image and serve no ops port;
# compose and Kubernetes probe /healthz and /readyz per service instead.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["--help"]
