# certkeeper operator image.
#
#   docker build -t localhost/certkeeper:0.1.0 .   (the Helm chart's default image.repository)
#
# BASE_IMAGE builds (Node.js 24 and npm); RUNTIME_IMAGE runs, and gets only the
# node binary from BASE_IMAGE: no npm, no caches, no compilers. The defaults are
# the official images (node:24-bookworm-slim is itself built on
# debian:bookworm-slim, so the two share their layers). Without Docker or a
# registry, hack/build-image.sh builds both bases itself (debootstrap + the
# Node.js binary from npm) and this file with buildah.
ARG BASE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# Set by hack/build-image.sh: a CA for a TLS-intercepting proxy in front of the
# npm registry, and a download cache kept between builds. Build-time only.
ARG NODE_EXTRA_CA_CERTS=
ARG NPM_CONFIG_CACHE=/tmp/npm-cache
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency needs an install script; not running them keeps the build
# from executing code it did not ask for.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY hack/build.ts ./hack/build.ts
# Type-checks, then bundles the operator and the CLI with esbuild into dist/
# (hack/build.ts): every dependency it uses is inside the bundle, tree-shaken,
# so the image needs no node_modules at all.
RUN npm run build

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
# Where the source lives (the repository URL); the project names none yet.
ARG SOURCE=
LABEL org.opencontainers.image.title="certkeeper" \
      org.opencontainers.image.description="Kubernetes certificate lifecycle operator: ACME issuance, inventory, expiry alerts, and live TLS validation of what Services serve." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# A named user for the fixed UID, so tools that look the user up (id, ps) work;
# 65532 is the conventional "nonroot" UID of minimal images. Written directly:
# useradd warns about a UID past UID_MAX and would write lastlog entries.
RUN echo 'certkeeper:x:65532:' >> /etc/group \
 && echo 'certkeeper:x:65532:65532:certkeeper operator:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && ln -s /app/bin/certkeeper.js /usr/local/bin/certkeeper
WORKDIR /app
# The bundle, its source maps (stack traces name src/ files) and the licence
# texts of the bundled dependencies (*.LEGAL.txt).
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin/certkeeper.js ./bin/certkeeper.js
ENV NODE_ENV=production
# One glibc malloc arena for all of node's threads: with one per thread, V8's
# compiler and GC workers and libuv's pool each kept 3-5 MB of freed memory
# for themselves (peak RSS 147-161 MB, median 155, with 1,000 Certificates
# and 10,000 Secrets; 139-153 MB, median 149, with one arena; same CPU). hack/env/operator.ts's
# OPERATOR_ENV holds the same for the bench; the image test checks they agree.
ENV MALLOC_ARENA_MAX=1
# Root owns every file; the operator writes none (read-only root file system).
USER 65532:65532
# Health, readiness and metrics (--http-port). The ACME HTTP-01 responder
# listens only where --acme-http01-port says (the Helm chart: 8089).
EXPOSE 9402
# 2 MB semi-spaces (V8's default is 16 MB) and a fixed 30 % growth of the old
# generation after each full collection (V8's adapts, up to 4x): ~60 MB less
# peak RSS for a little more GC CPU (README, Benchmark). hack/env/operator.ts's
# OPERATOR_NODE_FLAGS holds the same flags for the bench; the image test checks
# they agree.
ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=2", "--heap-growing-percent=30", "/app/bin/certkeeper.js"]
CMD ["operator"]
