#!/bin/bash
# Set up the anchors the benchmarks compare glassbox with (run as root, Debian 12).
#
#   bench/setup_anchors.sh            # install what is missing, start a private dockerd
#   bench/setup_anchors.sh install    # only install the Debian packages
#   bench/setup_anchors.sh status     # is the private dockerd answering?
#   bench/setup_anchors.sh stop       # stop it and remove what start created
#
# Anchors: runc, skopeo, umoci (Debian packages, used directly) and docker (docker.io):
# a *private* dockerd that touches no host networking (no bridge, no iptables rules, no
# masquerading, no ip_forward change), keeps its state in its own dirs and answers only
# on its own socket. busybox:latest is loaded into it from a `glassbox save` made in a
# private glassbox root, so nothing is downloaded. Then, for the benches:
#
#   export DOCKER_HOST=unix:///run/docker-bench.sock
#   .venv/bin/python bench/run_latency.py
#
# `stop` removes only what `start` created (it records each path in $CREATED).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
VENV_BIN=${VENV_BIN:-$REPO/.venv/bin}
SOCK=/run/docker-bench.sock
PIDFILE=/run/docker-bench.pid
DATA_ROOT=/var/lib/docker-bench
EXEC_ROOT=/run/docker-bench
LOG=/run/docker-bench.log
CREATED=/run/docker-bench.created   # one path per line: what stop may remove
PACKAGES=(runc skopeo umoci docker.io)

say() { echo "setup_anchors: $*" >&2; }
d() { docker -H "unix://$SOCK" "$@"; }

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { say "packages present: ${PACKAGES[*]}"; return; }
    say "installing ${missing[*]}"
    # Never let a package's maintainer script start a system dockerd/containerd (a
    # default dockerd would create docker0 and iptables rules): deny service starts.
    local guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        guard=1
    fi
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"; } || rc=$?
    [ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d
    return $rc
}

running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

note_created() {  # create dir $1 (if missing) and remember that we did
    if [ ! -e "$1" ]; then
        mkdir -p "$1"
        echo "$1" >> "$CREATED"
    fi
}

load_busybox() {
    if d image inspect busybox:latest >/dev/null 2>&1; then return; fi
    local tmp
    tmp=$(mktemp -d /tmp/gbx-bench-anchors-XXXXXX)
    # a private glassbox root: import busybox (from Debian's busybox-static), save it
    GLASSBOX_ROOT=$tmp/root "$VENV_BIN/python" - "$tmp/rootfs.tar" <<'EOF'
import sys
from glassbox.images.busybox import rootfs_tar
with open(sys.argv[1], "wb") as f:
    rootfs_tar(f)
EOF
    GLASSBOX_ROOT=$tmp/root "$VENV_BIN/glassbox" import -c 'CMD ["sh"]' "$tmp/rootfs.tar" \
        busybox:latest >/dev/null
    GLASSBOX_ROOT=$tmp/root "$VENV_BIN/glassbox" save -o "$tmp/busybox.tar" busybox:latest
    d load -i "$tmp/busybox.tar"
    rm -rf "$tmp"
}

start() {
    command -v dockerd >/dev/null || { say "dockerd not installed (Debian docker.io)"; exit 1; }
    if running && d info >/dev/null 2>&1; then
        say "dockerd already running (pid $(cat "$PIDFILE"))"
    else
        [ -e /etc/docker/key.json ] || echo /etc/docker/key.json >> "$CREATED"
        for h in /sys/fs/cgroup/*/; do   # dockerd's cgroup parent (v1: one per hierarchy)
            [ -e "${h}docker" ] || echo "${h}docker" >> "$CREATED"
        done
        [ -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -e /sys/fs/cgroup/system.slice ] \
            && echo /sys/fs/cgroup/system.slice >> "$CREATED"
        note_created "$DATA_ROOT"
        note_created "$EXEC_ROOT"
        echo "$SOCK" >> "$CREATED"; echo "$PIDFILE" >> "$CREATED"; echo "$LOG" >> "$CREATED"
        say "starting dockerd on $SOCK (log $LOG)"
        # --bridge=none --iptables=false --ip-masq=false --ip-forward=false: no host
        # networking is touched; containers get only their loopback.
        setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
            --ip-masq=false --ip-forward=false \
            --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" -H "unix://$SOCK" \
            --pidfile "$PIDFILE" > "$LOG" 2>&1 < /dev/null &
        local pid=$! i
        for i in $(seq 1 60); do
            d info >/dev/null 2>&1 && break
            if ! kill -0 "$pid" 2>/dev/null; then
                say "dockerd exited; its log ends with:"; tail -n 20 "$LOG" >&2
                stop; exit 1
            fi
            sleep 0.5
        done
        d info >/dev/null 2>&1 || { say "dockerd did not answer in 30 s:"; tail -n 20 "$LOG" >&2
                                      stop; exit 1; }
    fi
    load_busybox
    if d run --rm busybox true; then
        say "ok: docker run --rm busybox true works. For the benches:"
        echo "export DOCKER_HOST=unix://$SOCK"
    else
        say "dockerd answers but cannot run a container; see $LOG"; exit 1
    fi
}

stop() {
    if running; then
        local pid i ids
        pid=$(cat "$PIDFILE")
        ids=$(d ps -aq 2>/dev/null || true)   # containers of this private daemon only
        [ -n "$ids" ] && d rm -f $ids >/dev/null 2>&1 || true
        say "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && { say "dockerd ignored SIGTERM; SIGKILL"; kill -KILL "$pid"; }
    fi
    # mounts it may have left under its own two dirs, deepest first
    local m
    for m in $(awk -v a="$DATA_ROOT" -v b="$EXEC_ROOT" \
                   'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/self/mounts \
               | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" || true
    done
    if [ -f "$CREATED" ]; then
        local p
        while read -r p; do
            case "$p" in
                "$DATA_ROOT"|"$EXEC_ROOT") rm -rf --one-file-system "$p" ;;
                /sys/fs/cgroup/*) [ -d "$p" ] && find "$p" -depth -type d -exec rmdir {} + \
                                      2>/dev/null || true ;;
                *) rm -f "$p" ;;
            esac
        done < "$CREATED"
        rm -f "$CREATED"
    fi
    say "stopped; removed what start created"
}

status() {
    if running && d info >/dev/null 2>&1; then
        echo "running (pid $(cat "$PIDFILE")): export DOCKER_HOST=unix://$SOCK"
    else
        echo "not running"; return 1
    fi
}

[ "$(id -u)" -eq 0 ] || { say "run as root"; exit 1; }
case "${1:-start}" in
    install) install_packages ;;
    start) install_packages; start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 [install|start|stop|status]" >&2; exit 2 ;;
esac
