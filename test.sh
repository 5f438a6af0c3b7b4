#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian 12 machine of this kind (root, no systemd PID 1):
#   1. apt: the browser for the HTML report test, and (via .ci/services-up.sh) docker.io,
#      busybox-static, systemd-journal-remote, libsystemd-dev for the real-service tests;
#   2. pip: the package and its test extras into .venv (systemd-python builds against libsystemd);
#   3. start the REAL services the tests use (dockerd on a private socket, a journald namespace);
#   4. pytest; the services are stopped by PID at the end unless NMA_KEEP_SERVICES=1.
# Extra arguments go to pytest, e.g. ./test.sh tests/matcher -x
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
export CI_RUN=${CI_RUN:-/tmp/ci-run}
mkdir -p "$CI_RUN"

APT=(chromium fonts-dejavu-core)
missing=()
for p in "${APT[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "[test.sh] apt: installing ${missing[*]}"
    apt-get update -qq -o DPkg::Lock::Timeout=300
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" \
        >"$CI_RUN/apt-test.log" 2>&1 || { tail -20 "$CI_RUN/apt-test.log"; exit 1; }
fi

bash .ci/services-up.sh
if [ "${NMA_KEEP_SERVICES:-0}" != 1 ]; then
    trap 'bash .ci/services-down.sh >/dev/null 2>&1 || true' EXIT
fi
set -a; . "$CI_RUN/env"; set +a

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'

.venv/bin/python -m pytest "$@"
