#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian 12 machine of this kind (root, no systemd PID 1):
#   1. apt (one run, in .ci/services-up.sh): the browser for the HTML report test, and docker.io,
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

# one apt run for everything: the browser for the HTML report test, and the services' packages
EXTRA_APT="chromium fonts-dejavu-core" bash .ci/services-up.sh
if [ "${NMA_KEEP_SERVICES:-0}" != 1 ]; then
    trap 'bash .ci/services-down.sh >/dev/null 2>&1 || true' EXIT
fi
set -a; . "$CI_RUN/env"; set +a

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test]'

.venv/bin/python -m pytest "$@"
