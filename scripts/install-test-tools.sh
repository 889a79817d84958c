#!/usr/bin/env bash
# Installs the non-Python S3 clients the end-to-end tests drive: rclone and s3cmd (Debian
# packages), Node.js >= 20 with npm, and the AWS SDK for JavaScript v3 at the versions pinned in
# tests/e2e/js/package-lock.json (`npm ci`), and promtool (Debian package `prometheus`) to lint
# the /metrics exposition and deploy/prometheus-alerts.yml. curl comes with the machine; boto3 and
# the AWS CLI come from pyproject's [test]. Run from the repository root (as `make test` does).
set -euo pipefail

missing=()
for tool in rclone s3cmd curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# Debian's nodejs ships npm separately; NodeSource's nodejs includes it.
if ! command -v npm >/dev/null 2>&1 && [[ " ${missing[*]} " != *" nodejs "* ]]; then
    missing+=(npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # We want promtool, not a Prometheus server: the package's postinst starts the daemon via
    # invoke-rc.d unless a policy-rc.d forbids it (container images usually ship one).
    if [[ " ${missing[*]} " == *" prometheus "* && ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
        $SUDO chmod +x /usr/sbin/policy-rc.d
        trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if ! command -v npm >/dev/null 2>&1; then
        $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
    echo "Node.js >= 20 is needed by the AWS SDK for JavaScript v3 (found $(node --version))" >&2
    exit 1
fi

js=tests/e2e/js
if [ ! -d "$js/node_modules" ]; then
    echo "installing the AWS SDK for JavaScript v3 into $js/node_modules (npm ci)"
    npm ci --prefix "$js" --no-audit --no-fund --loglevel=error
fi
"$(dirname "$0")/install-keycloak.sh"
