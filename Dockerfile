# smtpipe in a container, in the layout of docs/install.md: built and installed from its
# packed tarball in one stage (TypeScript, both native addons), run in a slim one under tini
# as an unprivileged user. Untested here (no Docker engine on the build machines); see
# docs/install.md, "Containers".
#
#   docker build -t smtpipe .
#   docker run --rm -p 2525:2525 --stop-timeout 45 smtpipe
#
# Mount your own config over /etc/smtpipe/smtpipe.conf. --stop-timeout must exceed
# Shutdown_Timeout (30 s by default): Docker's default of 10 s would SIGKILL a drain.
#
# Programs: the image has sh and node only. For a program in another language, build on it:
#   FROM smtpipe
#   USER root
#   RUN apt-get update && apt-get install -y --no-install-recommends python3 \
#    && rm -rf /var/lib/apt/lists/*
#   COPY --chmod=0755 ticket.py /usr/local/libexec/ticket.py
#   USER smtpipe
# A program whose interpreter is missing gets spawn-failed (451) on every message.

FROM node:20-bookworm-slim AS build
# g++, make and python3 build the two addons (native/): the posix_spawn spawner and the
# line-ending scans. The install script never fails without them (smtpipe would fall back
# to child_process and JavaScript scans), so the check below makes the image build fail.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the daemon's package needs: no test/, bench/ or workspaces (npm ci skips
# workspace folders that are not there), and tsconfig.build.json compiles src, workers
# and native/addons.ts only.
COPY package.json package-lock.json binding.gyp tsconfig.json tsconfig.build.json README.md CHANGELOG.md LICENSE ./
COPY native ./native
COPY scripts/prepare.mjs ./scripts/
COPY src ./src
COPY workers ./workers
COPY config ./config
COPY deploy ./deploy
COPY docs ./docs
# npm ci: dev dependencies, then prepare (tsc -p tsconfig.build.json). npm pack: the files
# list of package.json, as published. npm install -g: the tarball into /usr/local, as on a
# host, its install script building both addons there.
RUN npm ci \
 && npm pack --ignore-scripts \
 && npm install -g --omit=dev ./smtpipe-*.tgz \
 && test -f /usr/local/lib/node_modules/smtpipe/build/Release/smtpipe_spawn.node \
 && test -f /usr/local/lib/node_modules/smtpipe/build/Release/smtpipe_line_endings.node \
 && rm -rf /usr/local/lib/node_modules/smtpipe/build/Release/obj.target /usr/local/lib/node_modules/smtpipe/build/Release/.deps

FROM node:20-bookworm-slim
# tini as PID 1: forwards SIGTERM/SIGHUP to smtpipe alone (programs are smtpipe's to
# stop, as with systemd's KillMode=mixed) and reaps orphaned grandchildren of programs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10025 --home-dir /var/lib/smtpipe --create-home --shell /usr/sbin/nologin smtpipe
# The installed package (dist, production node_modules, both addons in build/Release) and
# the command on PATH: `docker exec <container> smtpipe --check` works.
COPY --from=build /usr/local/lib/node_modules/smtpipe /usr/local/lib/node_modules/smtpipe
RUN ln -s ../lib/node_modules/smtpipe/dist/src/ops/cli.js /usr/local/bin/smtpipe
COPY deploy/container.conf /etc/smtpipe/smtpipe.conf
# The programs' default directory: the smtpipe user's own, not a root-owned one.
WORKDIR /var/lib/smtpipe
USER smtpipe
EXPOSE 2525 9465
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9465/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/smtpipe"]
CMD ["-c", "/etc/smtpipe/smtpipe.conf"]
