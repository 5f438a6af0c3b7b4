#!/usr/bin/env bash
# Bring up the REAL services the source-collector tests use, on Debian 12 as root without
# systemd as PID 1 and without a registry (see /work/shared/notes/real-services.md §4):
#
#   * a Docker Engine (dockerd) on a private socket  $CI_RUN/docker/docker.sock
#     (no bridge, no iptables, no ip_forward: the host's network is left untouched);
#   * the image ci/busybox:latest, imported from busybox-static (no registry needed);
#   * a journald *namespace* "ci" (own sockets under /run/systemd/journal.ci, volatile
#     storage under /run/log/journal/<machine-id>.ci; the default journal is not touched);
#   * an sshd on 127.0.0.1:2222 (own host key, one authorized client key, all under
#     $CI_RUN/sshd) whose sessions get DOCKER_HOST=<the private dockerd>, so that
#     `ssh root@127.0.0.1 -p 2222 docker system dial-stdio` -- what the docker SDK runs for
#     an ssh:// engine -- reaches the private engine. The machine's own sshd (if any) and
#     ~/.ssh are not touched: clients use $CI_RUN/sshd/{client_key,known_hosts,ssh_config}.
#
# Writes the environment the tests need to $CI_RUN/env (KEY=value lines, `set -a; . env`).
# Idempotent: a dockerd already answering on the socket, an image already imported and a
# journald namespace already running are reused. Stop everything with .ci/services-down.sh.
#
# Python side (project venv, after the apt packages below): pip install docker systemd-python
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
CI_RUN=${CI_RUN:-/tmp/ci-run}
mkdir -p "$CI_RUN"
t() { echo "[$(date +%T)] $*"; }

# ---------------------------------------------------------------- apt (skipped when present)
# EXTRA_APT: more packages for the caller (test.sh: the browser), installed in the same apt run
# shellcheck disable=SC2206  # word splitting of EXTRA_APT is intended
PKGS=(docker.io busybox-static libsystemd-dev pkg-config systemd-journal-remote openssh-server openssh-client
      ${EXTRA_APT:-})
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    t "apt: installing ${missing[*]}"
    apt-get update -qq -o DPkg::Lock::Timeout=300
    # docker.io's postinst does not start dockerd here (no systemd, policy-rc.d denies): we do.
    apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${missing[@]}" \
        >"$CI_RUN/apt.log" 2>&1 || { tail -20 "$CI_RUN/apt.log"; exit 1; }
else
    t "apt: ${PKGS[*]} already installed"
fi

# ---------------------------------------------------------------- dockerd
D="$CI_RUN/docker"; mkdir -p "$D"
export DOCKER_HOST="unix://$D/docker.sock"
if docker version >/dev/null 2>&1; then
    t "dockerd: already answering on $DOCKER_HOST (pid $(cat "$D/docker.pid" 2>/dev/null || echo ?)), reused"
else
    t "dockerd: starting on $DOCKER_HOST"
    # A stale pidfile (dockerd killed hard) makes dockerd refuse to start.
    if [ -f "$D/docker.pid" ] && ! kill -0 "$(cat "$D/docker.pid")" 2>/dev/null; then rm -f "$D/docker.pid"; fi
    # setsid: the daemon must outlive this script and the job/process group that ran it.
    setsid dockerd --host "$DOCKER_HOST" --data-root "$D/root" --exec-root "$D/exec" --pidfile "$D/docker.pid" \
        --iptables=false --ip6tables=false --ip-forward=false --bridge=none --storage-driver=overlay2 \
        </dev/null >"$D/dockerd.log" 2>&1 &
    for _ in $(seq 1 150); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
    docker version >/dev/null 2>&1 || { echo "dockerd did not come up; last lines of $D/dockerd.log:"; tail -20 "$D/dockerd.log"; exit 1; }
fi
docker version --format 'dockerd: engine {{.Server.Version}}, api {{.Server.APIVersion}}'

# ---------------------------------------------------------------- image (no registry)
# The label records the image recipe: bump it when the applet list changes so that an
# engine kept from an older run gets the new image.
IMAGE_REV=2
if [ "$(docker image inspect --format '{{index .Config.Labels "nma.ci.image"}}' ci/busybox:latest 2>/dev/null)" = "$IMAGE_REV" ]; then
    t "image: ci/busybox:latest (rev $IMAGE_REV) present"
else
    t "image: importing ci/busybox:latest (rev $IMAGE_REV) from busybox-static"
    R=$(mktemp -d); mkdir -p "$R/bin" "$R/tmp" "$R/etc"
    cp /bin/busybox "$R/bin/busybox"
    # find: what real Kolla images have and the docker collector lists log directories with
    for a in sh echo sleep date cat printf seq ls mkdir rm gzip head tail tr true false kill find; do
        ln -s busybox "$R/bin/$a"
    done
    tar -C "$R" -c . | docker import -c 'CMD ["sh"]' -c "LABEL nma.ci.image=$IMAGE_REV" - ci/busybox:latest >/dev/null
    rm -rf "$R"
fi

# ---------------------------------------------------------------- journald namespace "ci"
# A namespaced journald exits after 30 s without clients ("Server is idle, exiting."), as
# journald@.service is meant to be socket-activated. A keeper process holds one stdout
# stream open so that the daemon stays up between test runs; the keeper exits by itself
# when that journald process is gone.
JSOCK=/run/systemd/journal.ci/stdout
JDIR="/run/log/journal/$(cat /etc/machine-id).ci"
alive() { local pid; pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
              && grep -q "$2" "/proc/$pid/cmdline" 2>/dev/null; }
if alive "$CI_RUN/journald.pid" systemd-journald && alive "$CI_RUN/journald-keeper.pid" ci-keepalive \
        && [ -S "$JSOCK" ]; then
    t "journald: namespace ci already running (pid $(cat "$CI_RUN/journald.pid")), reused"
else
    for f in journald-keeper.pid journald.pid; do
        if alive "$CI_RUN/$f" "$([ $f = journald.pid ] && echo systemd-journald || echo ci-keepalive)"; then
            kill "$(cat "$CI_RUN/$f")" 2>/dev/null || true
        fi
        rm -f "$CI_RUN/$f"
    done
    t "journald: starting namespace ci (volatile, own sockets; default journal untouched)"
    mkdir -p /etc/systemd
    printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' >/etc/systemd/journald@ci.conf
    rm -rf /run/systemd/journal.ci   # stale sockets of a journald that exited would pass -S below
    setsid /lib/systemd/systemd-journald ci </dev/null >"$CI_RUN/journald.log" 2>&1 &
    echo $! >"$CI_RUN/journald.pid"
    for _ in $(seq 1 50); do [ -S "$JSOCK" ] && break; sleep 0.1; done
    [ -S "$JSOCK" ] || { echo "journald ci did not create $JSOCK:"; cat "$CI_RUN/journald.log"; exit 1; }
    setsid /usr/bin/python3 -c '
import os, socket, sys, time
for _ in range(50):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.1)
s.sendall(b"ci-keepalive\n\n6\n0\n0\n0\n0\n")
while os.path.exists("/proc/" + sys.argv[2]):  # end with the journald it keeps alive
    time.sleep(5)
' "$JSOCK" "$(cat "$CI_RUN/journald.pid")" ci-keepalive </dev/null >/dev/null 2>&1 &
    echo $! >"$CI_RUN/journald-keeper.pid"
fi
# journald creates the namespace's journal directory with its first entry: write one so that
# NMA_JOURNAL_DIR exists as soon as this script returns. Stream header = what systemd sends
# for a service's stdout (ident, unit, priority, level_prefix, forward flags).
/usr/bin/python3 - "$JSOCK" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
s.sendall(b"ci-services-up\n\n6\n0\n0\n0\n0\nservices-up.sh: journald namespace ci ready\n")
time.sleep(0.3); s.close()
PY
for _ in $(seq 1 50); do [ -d "$JDIR" ] && break; sleep 0.1; done
[ -d "$JDIR" ] || { echo "journal directory $JDIR did not appear"; exit 1; }
t "journald: $JDIR"

# ---------------------------------------------------------------- sshd on 127.0.0.1:2222
# The "remote" docker host of `nma analyze --docker ssh://root@compute-02`, on loopback.
# Keys are made once and kept (a known_hosts written by an earlier run stays valid); the
# config is rewritten each run and sshd restarted only when it changed.
S="$CI_RUN/sshd"; SSH_PORT=2222; mkdir -p "$S" /run/sshd; chmod 700 "$S"
[ -f "$S/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C nma-ci-host -f "$S/ssh_host_ed25519_key"
[ -f "$S/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C nma-ci-client -f "$S/client_key"
cp "$S/client_key.pub" "$S/authorized_keys"
# known_hosts from the host key file itself (not ssh-keyscan: nothing to trust on the wire);
# ssh and paramiko write a non-22 port as [host]:port.
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$S/ssh_host_ed25519_key.pub")" >"$S/known_hosts"
cat >"$S/sshd_config.new" <<CFG
# written by .ci/services-up.sh
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $S/ssh_host_ed25519_key
AuthorizedKeysFile $S/authorized_keys
PidFile $S/sshd.pid
PermitRootLogin prohibit-password
AllowUsers root
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
# Every ssh:// engine session runs \`docker system dial-stdio\`: point it at the private dockerd.
SetEnv DOCKER_HOST=$DOCKER_HOST
# MaxSessions/MaxStartups stay at sshd's defaults (10), as on an operator's host: the
# collector must work within them (one docker client = one login, <= 10 channels).
LogLevel VERBOSE
CFG
ssh_up() { alive "$S/sshd.pid" sshd && /usr/bin/python3 - "$SSH_PORT" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
        s.settimeout(2)
        sys.exit(0 if s.recv(4).startswith(b"SSH-") else 1)
except OSError:
    sys.exit(1)
PY
}
if ssh_up && cmp -s "$S/sshd_config.new" "$S/sshd_config"; then
    rm -f "$S/sshd_config.new"
    t "sshd: already answering on 127.0.0.1:$SSH_PORT (pid $(cat "$S/sshd.pid")), reused"
else
    if alive "$S/sshd.pid" sshd; then
        t "sshd: config changed, restarting pid $(cat "$S/sshd.pid")"
        pid=$(cat "$S/sshd.pid"); kill "$pid"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$S/sshd.pid"
    mv "$S/sshd_config.new" "$S/sshd_config"
    /usr/sbin/sshd -t -f "$S/sshd_config" || { echo "sshd: bad config $S/sshd_config"; exit 1; }
    t "sshd: starting on 127.0.0.1:$SSH_PORT"
    # -D: no fork, so setsid's process is sshd itself; it writes PidFile. -E: log to a file.
    setsid /usr/sbin/sshd -D -f "$S/sshd_config" -E "$S/sshd.log" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 50); do ssh_up && break; sleep 0.1; done
    ssh_up || { echo "sshd did not come up; last lines of $S/sshd.log:"; tail -20 "$S/sshd.log"; exit 1; }
fi
# A client config for `ssh -F` (and a template for an operator's ~/.ssh/config).
cat >"$S/ssh_config" <<CFG
Host 127.0.0.1
    User root
    Port $SSH_PORT
    IdentityFile $S/client_key
    IdentitiesOnly yes
    UserKnownHostsFile $S/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
CFG
ssh -F "$S/ssh_config" -o ConnectTimeout=5 root@127.0.0.1 docker version --format '{{.Server.Version}}' >/dev/null \
    || { echo "sshd: 'docker version' over ssh failed; see $S/sshd.log"; exit 1; }
t "sshd: ssh://root@127.0.0.1:$SSH_PORT reaches the private dockerd"

# ---------------------------------------------------------------- env for the tests
cat >"$CI_RUN/env.tmp" <<ENV
CI_RUN=$CI_RUN
DOCKER_HOST=$DOCKER_HOST
NMA_JOURNAL_DIR=$JDIR
NMA_JOURNAL_STDOUT=$JSOCK
NMA_JOURNAL_NAMESPACE=ci
NMA_SSH_ENGINE=ssh://root@127.0.0.1:$SSH_PORT
NMA_SSH_KEY=$S/client_key
NMA_SSH_KNOWN_HOSTS=$S/known_hosts
NMA_SSH_CONFIG=$S/ssh_config
ENV
mv "$CI_RUN/env.tmp" "$CI_RUN/env"
t "up; environment in $CI_RUN/env:"
sed 's/^/    /' "$CI_RUN/env"
