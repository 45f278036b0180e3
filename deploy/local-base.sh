#!/usr/bin/env bash
# A Node base image made from this machine's own node and npm, for building deploy/Dockerfile where no
# registry is reachable (CI here): node's binary and the libraries it links (copied with their paths), npm,
# /bin/sh (npm runs scripts through it), the CA bundle, a `node` user with uid 1000 as in the official
# image, and a world-writable /tmp. Imported with `podman import` (docs/testing.md, the NATS image is made
# the same way). Prints the image name; idempotent (an existing image is kept unless ODIN_BASE_REBUILD=1).
set -euo pipefail
image="${1:-localhost/odin-node-base:$(node -p 'process.versions.node')}"
if [ "${ODIN_BASE_REBUILD:-0}" != "1" ] && podman image exists "$image" 2>/dev/null; then echo "$image"; exit 0; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
sh_bin=$(readlink -f /bin/sh)
mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/home/node" "$root/root"
chmod 1777 "$root/tmp"
cp "$node_bin" "$root/usr/local/bin/node"
cp -r "$npm_dir" "$root/usr/local/lib/node_modules/npm"
# npm-cli.js starts with `#!/usr/bin/env node`, and this root has no env: a wrapper instead.
printf '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n' >"$root/usr/local/bin/npm"
chmod 755 "$root/usr/local/bin/npm"
cp "$sh_bin" "$root/bin/sh"
for lib in $( (ldd "$node_bin"; ldd "$sh_bin") | grep -o '/[^ ]*' | sort -u); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/node"
tar -C "$root" -c . | podman import --quiet \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$image" >/dev/null
echo "$image"
