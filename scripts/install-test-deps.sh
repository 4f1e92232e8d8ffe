#!/usr/bin/env bash
# Installs the system tools the test suites use, from Debian's packages, when they are missing.
# Idempotent and quiet when everything is present. Needs root (CI and the dev machines run as root).
set -euo pipefail
needed=()
for tool in curl:curl openssl:openssl mount:mount; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || needed+=("${tool##*:}")
done
if [ ${#needed[@]} -gt 0 ]; then
  echo "installing test dependencies: ${needed[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${needed[@]}" >/dev/null
fi
