# smtpipe in a container: built in one stage (TypeScript, the native spawner), run in a
# slim one under tini as an unprivileged user. Untested here (no Docker engine on the
# build machines); see docs/operations.md, "Containers".
#
#   docker build -t smtpipe .
#   docker run --rm -p 2525:2525 --stop-timeout 45 smtpipe
#
# Mount your own config over /etc/smtpipe/smtpipe.conf. --stop-timeout must exceed
# Shutdown_Timeout (30 s by default): Docker's default of 10 s would SIGKILL a drain.

FROM node:20-bookworm-slim AS build
# g++, make and python3 build the posix_spawn addon (native/); without them smtpipe
# still runs, through child_process, and says so at start-up.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/smtpipe
COPY package.json package-lock.json binding.gyp tsconfig.json tsconfig.build.json ./
COPY native ./native
COPY src ./src
COPY workers ./workers
# Only the daemon: the workspaces (packages/smtp-load, bench) and test/ stay out; npm ci
# skips workspace folders that are not there. It runs the install script (both addons)
# and prepare (tsconfig.build.json: src, workers and native/addons.ts into dist/); then drop dev packages.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
# tini as PID 1: forwards SIGTERM/SIGHUP to smtpipe alone (programs are smtpipe's to
# stop, as with systemd's KillMode=mixed) and reaps orphaned grandchildren of programs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10025 --home-dir /var/lib/smtpipe --create-home --shell /usr/sbin/nologin smtpipe
WORKDIR /opt/smtpipe
COPY --from=build /opt/smtpipe/package.json ./
COPY --from=build /opt/smtpipe/node_modules ./node_modules
COPY --from=build /opt/smtpipe/dist ./dist
# Both addons: the spawner (smtpipe_spawn.node) and the CRLF scans (smtpipe_line_endings.node).
COPY --from=build /opt/smtpipe/build/Release/*.node ./build/Release/
COPY deploy/container.conf /etc/smtpipe/smtpipe.conf
USER smtpipe
EXPOSE 2525 9465
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9465/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/smtpipe/dist/src/ops/cli.js"]
CMD ["-c", "/etc/smtpipe/smtpipe.conf"]
