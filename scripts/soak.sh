#!/usr/bin/env bash
# Soak in secure mode (docs/security.md, "Soak"): a gateway with auth.mode=jwt and a publish key, held by
# `odin load` with one minted token per connection, publishing throughout. Reports the load tool's
# unexpected drops and failures (both must be 0) and the gateway's memory after the ramp and at the end.
#
#   CONNECTIONS=5000 HOLD_S=600 RATE=50 bash scripts/soak.sh          # the documented soak (≥ 10 min)
#   CONNECTIONS=2000 HOLD_S=60 RATE=20 bash scripts/soak.sh           # a short one
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-5000}
HOLD_S=${HOLD_S:-600}
RATE=${RATE:-50}
# New connections per second. Each handshake verifies a token; on a busy (shared) machine the ramp would
# trip the load brake (503 by design), so the soak server's brake is loosened: the soak measures holding
# authenticated connections, admission under overload has its own tests.
RAMP=${RAMP:-200}
PORT=${PORT:-18480}
SAMPLE_S=${SAMPLE_S:-15}
OUT=${OUT:-$(mktemp -d /tmp/odin-soak.XXXXXX)}
SECRET=$(node -e "console.log(require('node:crypto').randomBytes(32).toString('hex'))")
KEY=$(node -e "console.log(require('node:crypto').randomBytes(24).toString('hex'))")

node bin/odin.mjs serve --port "$PORT" --log-level warn \
  --set auth.mode=jwt --set auth.hmacSecret="$SECRET" --set publish.apiKey="$KEY" \
  --set admission.handshakeBurst=100000 --set admission.handshakesPerSecond=100000 \
  --set loadBrake.utilizationMax=1 --set loadBrake.eventLoopDelayMsMax=5000 >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; kill "$SAMPLER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# Memory of the gateway process every SAMPLE_S seconds: RSS and V8 heap in use, from its /metrics.
(
  while true; do
    metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics" || true)
    rss=$(grep '^process_resident_memory_bytes ' <<<"$metrics" | awk '{print $2}')
    heap=$(grep '^nodejs_heap_size_used_bytes ' <<<"$metrics" | awk '{print $2}')
    conns=$(grep '^odin_connections ' <<<"$metrics" | awk '{print $2}')
    echo "$(date +%s) ${conns:-0} ${rss:-0} ${heap:-0}" >>"$OUT/memory.txt"
    sleep "$SAMPLE_S"
  done
) &
SAMPLER=$!

node bin/odin.mjs load "ws://127.0.0.1:$PORT/ws?v=1" -c "$CONNECTIONS" --ramp "$RAMP" --hold "$HOLD_S" --rate "$RATE" \
  --channels 100 --per-connection 2 --token-secret "$SECRET" --api-key "$KEY" --json --no-progress >"$OUT/load.json"

node -e '
const fs = require("node:fs");
const [out, connections] = process.argv.slice(1);
const report = JSON.parse(fs.readFileSync(`${out}/load.json`, "utf8"));
const rows = fs.readFileSync(`${out}/memory.txt`, "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
const held = rows.filter((r) => r[1] >= Number(connections));
const mib = (b) => (b / 2 ** 20).toFixed(1);
const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const c = report.connections;
console.log(`connections: attempted ${c.attempted}, subscribed ${c.subscribed}, held at end ${c.heldAtEnd}`);
console.log(`unexpected drops: ${sum(c.drops)} ${JSON.stringify(c.drops)}; failures: ${sum(c.failures)} ${JSON.stringify(c.failures)}`);
for (const p of report.phases) console.log(`phase ${p.kind}: published ${p.published.ok}/${p.published.sent}, delivered ${p.delivered}/${p.expected}`);
if (held.length >= 2) {
  const [first, last] = [held[0], held[held.length - 1]];
  console.log(`memory while held (${held.length} samples over ${last[0] - first[0]} s): RSS ${mib(first[2])} -> ${mib(last[2])} MiB (drift ${mib(last[2] - first[2])}), heap ${mib(first[3])} -> ${mib(last[3])} MiB (drift ${mib(last[3] - first[3])})`);
}
console.log(`files: ${out}`);
process.exitCode = sum(c.drops) === 0 && sum(c.failures) === 0 ? 0 : 1;
' "$OUT" "$CONNECTIONS"
