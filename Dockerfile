# syntax=docker/dockerfile:1
# One image for the five services; SERVICE=<gateway|orchestration|agent|tool|model> picks one.
#   docker build -t multi-agent-platform .
#   docker run --read-only --tmpfs /tmp -e SERVICE=tool -e NATS_URL=nats://nats:4222 multi-agent-platform
#
# The application tree is what deploy/image/assemble.ts builds, and deploy/image.test.ts
# starts every service from the same tree: the workspaces packed with `npm pack` and
# installed with --omit=dev into an empty /app, so the image holds exactly the runtime
# dependencies the packages declare, at the versions package-lock.json pins. The services
# run from their TypeScript sources via tsx.

FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY workflows ./workflows
COPY deploy/image ./deploy/image
# The locked production dependencies of the workspaces (tsx among them, for the next step).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
RUN node --import tsx deploy/image/assemble.ts /app && rm -rf /app/packs

FROM node:20-slim
# tini as PID 1: forwards SIGTERM to node (which drains: finishes events in flight, closes
# the NATS connection) and reaps zombies.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
# Read-only root filesystem: nothing writes outside /tmp (tsx keeps its cache there);
# Kubernetes mounts an emptyDir there. The ops servers listen on all addresses in a container.
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    WORKFLOWS_DIR=/app/workflows \
    SERVICE_HEALTH_HOST=0.0.0.0 \
    HOST=0.0.0.0
# The node image's unprivileged user, by number so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000 9101 9102 9103 9104
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "service.ts"]
