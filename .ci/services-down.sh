#!/usr/bin/env bash
# Stop what .ci/services-up.sh started (by the PIDs it recorded) and remove its state.
# Does not uninstall the apt packages.
CI_RUN=${CI_RUN:-/tmp/ci-run}
D="$CI_RUN/docker"
export DOCKER_HOST="unix://$D/docker.sock"

stop_pid() {  # stop_pid PIDFILE: TERM the recorded pid and wait (max 30 s) until it is gone
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$f"
}

if docker version >/dev/null 2>&1; then
    # Only containers of *this* private engine are removed.
    docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1 || true
fi
stop_pid "$D/docker.pid"          # dockerd stops its own containerd and unmounts its layers
stop_pid "$CI_RUN/journald-keeper.pid"   # the stream that keeps the idle journald alive
stop_pid "$CI_RUN/journald.pid"
stop_pid "$CI_RUN/sshd/sshd.pid"          # the loopback sshd of the ssh:// engine tests

# dockerd bind-mounts its data-root (and overlay layers); one killed with SIGKILL leaves
# them mounted. Unmount everything below $CI_RUN, deepest first, before removing it.
awk -v r="$CI_RUN" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r \
    | while read -r m; do umount -l "$m" 2>/dev/null || true; done

rm -rf /run/systemd/journal.ci "/run/log/journal/$(cat /etc/machine-id).ci" /etc/systemd/journald@ci.conf
rmdir /run/log/journal 2>/dev/null || true
rm -rf "$CI_RUN" /run/docker /run/containerd
echo "services down"
