# certkeeper operator image. Built without a Docker engine by buildah
# (hack/build-image.sh, coming with the Helm chart) on a base image the project
# assembles itself: a Debian rootfs plus Node.js 24. Any image with node >= 20
# and npm works as BASE_IMAGE.
ARG BASE_IMAGE=localhost/certkeeper-base:bookworm-node24

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM ${BASE_IMAGE}
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Unprivileged; the operator needs no file system writes.
USER 65532:65532
EXPOSE 9402
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["operator"]
