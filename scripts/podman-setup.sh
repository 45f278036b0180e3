#!/usr/bin/env bash
# A container runtime for the Testcontainers path of the NATS tests on a machine without Docker: Debian's
# Podman serving the Docker API on a unix socket, and a NATS image built locally from Debian's nats-server
# binary (no registry is needed, and none may be reachable). docs/testing.md explains the why of each step.
#
# Writes .testcontainers.env (repo root, git-ignored) with the variables the tests need; test/support/
# nats-fixture.ts reads it when they are not already set, and .ci/run sources it. Idempotent: a second run
# with everything in place takes well under a second.
#
# Skipped (exit 0, no env file) when a Docker daemon already answers: Testcontainers uses it directly, with
# the official `nats` image. ODIN_PODMAN=0 skips it too (the tests then spawn nats-server themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

env_file="$PWD/.testcontainers.env"
state_dir="${ODIN_PODMAN_DIR:-/var/tmp/odin-podman}"
socket="$state_dir/podman.sock"
conf="$state_dir/containers.conf"
image="localhost/nats-local:2.9.10"

log() { echo "podman-setup: $*"; }

if [ "${ODIN_PODMAN:-1}" = "0" ]; then
  log "ODIN_PODMAN=0: skipped; the NATS tests spawn nats-server directly"
  rm -f "$env_file"
  exit 0
fi
if [ -S /var/run/docker.sock ] && curl -sf --max-time 2 --unix-socket /var/run/docker.sock http://d/_ping >/dev/null 2>&1; then
  log "a Docker daemon answers on /var/run/docker.sock: Testcontainers will use it"
  rm -f "$env_file"
  exit 0
fi

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

# 1. Packages. crun (Podman's default runtime) fails on this kind of VM ("cgroups in hybrid mode"): runc.
missing=()
for pkg in podman runc nats-server; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt-get)"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$state_dir"

# 2. Runtime configuration, read by the CLI and the API service alike. Containers must not ask for more
# than the host's hard limits (the VM cannot raise them); conmon lingers 300 s without exit_command_delay.
hard_nofile=$(ulimit -Hn)
hard_nproc=$(ulimit -Hu)
[ "$hard_nofile" = "unlimited" ] && hard_nofile=1048576
[ "$hard_nproc" = "unlimited" ] && hard_nproc=32768
nofile=$(( hard_nofile < 20000 ? hard_nofile : 20000 ))
nproc=$(( hard_nproc < 32768 ? hard_nproc : 32768 ))
cat >"$conf.new" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
exit_command_delay = 5
EOF
if cmp -s "$conf.new" "$conf"; then rm "$conf.new"; else mv "$conf.new" "$conf"; fi
export CONTAINERS_CONF="$conf"

# 3. The image: nats-server, the two libraries it links (copied with their paths), /etc and a world-
# writable /tmp. No EXPOSE: Podman 4.3 reports image-declared ports as null bindings and Testcontainers
# then waits for them forever.
if ! podman image exists "$image" 2>/dev/null; then
  log "building $image from $(command -v nats-server)"
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/usr/sbin" "$root/etc" "$root/tmp"
  chmod 1777 "$root/tmp"
  cp /usr/sbin/nats-server "$root/usr/sbin/"
  for lib in $(ldd /usr/sbin/nats-server | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  echo 'root:x:0:0:root:/root:/sbin/nologin' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | podman import --quiet --change 'ENTRYPOINT ["/usr/sbin/nats-server"]' - "$image" >/dev/null
fi

# 4. The Docker-compatible API on a unix socket, started once and left running for later runs.
ping_socket() { curl -sf --max-time 2 --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; }
if ! ping_socket; then
  log "starting the Podman API service on $socket"
  rm -f "$socket"
  CONTAINERS_CONF="$conf" setsid nohup podman system service --time=0 "unix://$socket" >"$state_dir/service.log" 2>&1 </dev/null &
  for _ in $(seq 1 50); do ping_socket && break; sleep 0.1; done
  ping_socket || { log "the Podman API service did not answer; see $state_dir/service.log"; exit 1; }
fi

# 7. Containers left in `Created` state by an earlier failed start are removed by name prefix.
podman ps -a --filter status=created --filter name=odin-nats- --format '{{.Names}}' 2>/dev/null | xargs -r podman rm -f >/dev/null 2>&1 || true

# 5. The environment for the tests. Ryuk (the reaper) cannot be pulled here; the fixture removes its own.
cat >"$env_file" <<EOF
export DOCKER_HOST=unix://$socket
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export CONTAINERS_CONF=$conf
export ODIN_NATS_IMAGE=$image
EOF
log "ready: $image via $socket (environment in .testcontainers.env)"
