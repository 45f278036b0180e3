#!/usr/bin/env bash
# Everything the test suite needs on a fresh machine: npm packages (npm ci also builds dist/ and
# packages/*/dist through `prepare`), plus the system packages some suites use (nats-server for the
# JetStream integration tests, Chromium for the browser tests in test/browser and the HTML-report
# screenshot test, promtool and HAProxy for test/deploy), and a container runtime for the NATS tests' Testcontainers path
# (scripts/podman-setup.sh: Podman serving the Docker API where no Docker daemon runs; ODIN_PODMAN=0 skips
# it and the tests spawn nats-server).
# Installs a system package only when it is missing; needs root (or sudo) for that step.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# test/deploy: promtool checks the alert rules and Prometheus config; HAProxy balances the topology test.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
# The parity suite (test/sim/parity.test.ts) runs real experiments in network namespaces.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v sysctl >/dev/null 2>&1 || missing+=(procps)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (apt-get)"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start their own services where the init system lets them (haproxy on :80, prometheus on
  # :9090); the tests run their own on free ports and need none of them.
  if command -v systemctl >/dev/null 2>&1; then
    for service in haproxy prometheus; do
      if systemctl is-active --quiet "$service" 2>/dev/null; then $sudo_cmd systemctl disable --now "$service" >/dev/null 2>&1 || true; fi
    done
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

bash scripts/podman-setup.sh
