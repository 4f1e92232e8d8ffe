#!/usr/bin/env bash
# Installs the system tools the test suites use, from Debian's packages, when they are missing.
# Idempotent and quiet when everything is present. Needs root (CI and the dev machines run as root).
# The e2e suites need a real registry (docker-registry), a real pusher/client (skopeo),
# jq, and htpasswd (apache2-utils) for the basic-auth registry. The runtime suites pull through
# the mirror with the real runtimes: containerd (its daemon plus ctr) and podman. The testbed
# (bench/testbed, test/testbed.test.ts) needs ip and tc (iproute2) and the BitTorrent baseline:
# aria2c, mktorrent and opentracker. bench/data-path.ts reads each client's CPU time and peak RSS
# with GNU time, checked by its path since bash's own `time` keyword would always be found.
# The console's browser tests drive Debian's chromium (never a downloaded browser).
set -euo pipefail
needed=()
for tool in curl:curl openssl:openssl mount:mount docker-registry:docker-registry skopeo:skopeo jq:jq htpasswd:apache2-utils \
    containerd:containerd ctr:containerd podman:podman ip:iproute2 tc:iproute2 \
    aria2c:aria2 mktorrent:mktorrent opentracker:opentracker /usr/bin/time:time /usr/bin/chromium:chromium; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || needed+=("${tool##*:}")
done
if [ ${#needed[@]} -gt 0 ]; then
  echo "installing test dependencies: ${needed[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # One package can provide several of the commands checked above.
  mapfile -t needed < <(printf '%s\n' "${needed[@]}" | sort -u)
  apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
fi
