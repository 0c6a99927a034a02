#!/usr/bin/env bash
# A local stand-in for python:3.12-slim-bookworm, for machines that reach Debian's mirror
# and PyPI but no container registry (CI, this project's test machine).
#
#   deploy/kubernetes/local-base.sh [NAME]        # default NAME: local/python:3.11-slim-bookworm
#   glassbox build --build-arg BASE=local/python:3.11-slim-bookworm --network host \
#       -f deploy/kubernetes/Dockerfile -t glassbox-student:test .
#
# What it makes, and why it has the same shape as the official image:
#   - Debian bookworm from `debootstrap --variant=minbase` (what Debian's own slim images
#     start from: the "required" packages and apt), plus python3, pip, venv,
#     python-is-python3 (a `python` command) and ca-certificates;
#   - docs and man pages left out, apt's lists emptied, as the slim images do;
#   - ENV LANG=C.UTF-8 and PIP_BREAK_SYSTEM_PACKAGES=1 (Debian's python3 refuses a
#     system-wide `pip install` without it: PEP 668), CMD ["python3"] — so the Dockerfile's
#     `pip install` and `python -c` run unchanged. Its Python is Debian's 3.11, not 3.12.
#   - the CA certificates this machine added to Debian's (a TLS-inspecting proxy's), so pip
#     and apt inside the build trust what the host trusts.
#
# The mirror is the one apt on this machine uses (/etc/apt/sources.list*). Idempotent and
# cached: an image of that name already in the store is kept; else a rootfs tarball in
# $GLASSBOX_BASE_CACHE (default /var/cache/glassbox/local-base), keyed by the mirror, the
# packages and the extra CAs, is imported; only when that is missing does debootstrap run
# (about a minute with a near mirror). `rm -rf /var/cache/glassbox/local-base` forgets it.
set -euo pipefail

NAME=${1:-local/python:3.11-slim-bookworm}
CACHE=${GLASSBOX_BASE_CACHE:-/var/cache/glassbox/local-base}
GLASSBOX=${GLASSBOX:-glassbox}
SUITE=bookworm
PACKAGES=python3,python3-pip,python3-venv,python-is-python3,ca-certificates
VERSION=1     # bump when the recipe below changes: a new cache key

say() { echo "local-base: $*" >&2; }
die() { say "error: $*"; exit 1; }

case "$NAME" in
  ""|*[!a-z0-9._/:-]*|[!a-z0-9]*) die "'$NAME' is not an image name (lower-case name[:tag], e.g. local/python:3.11-slim-bookworm)" ;;
esac

# --- 1. already in the store? -------------------------------------------------------
if "$GLASSBOX" image inspect "$NAME" >/dev/null 2>&1; then
  say "$NAME is already in the store (glassbox rmi $NAME to remake it)"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap makes a root filesystem; glassbox import as root)"

# --- 2. the mirror apt uses here ------------------------------------------------------
# one-line sources ("deb [opts] URI SUITE COMPONENTS") and deb822 stanzas (Types/URIs/
# Suites/Enabled); the first enabled "deb" entry for SUITE wins
sources_uri() {  # $1: the suite to look for
  local want=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources)
        awk -v want="$want" '
          function flush() { if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " want " ")) { split(uris, u, " "); print u[1]; found=1; exit } types=uris=suites=""; enabled="" }
          /^[ \t]*$/ { flush(); next }
          /^#/ { next }
          tolower($1) == "types:"   { $1=""; types=$0 }
          tolower($1) == "uris:"    { $1=""; uris=$0 }
          tolower($1) == "suites:"  { $1=""; suites=$0 }
          tolower($1) == "enabled:" { enabled=tolower($2) }
          END { if (!found) flush() }' "$f" | sed 's/^ *//' ;;
      *)
        awk -v want="$want" '$1 == "deb" { i=2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                                           if ($(i+1) == want) { print $i; exit } }' "$f" ;;
    esac
  done | head -n1
}
MIRROR=$(sources_uri "$SUITE")
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=$(sources_uri "$SUITE-security")
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

# --- 3. the CAs this machine trusts beyond Debian's bundle ---------------------------
# Debian's own are symlinks into /usr/share/ca-certificates; a local one is a regular file
# in /etc/ssl/certs or a .crt under /usr/local/share/ca-certificates
extra_cas() {
  find /etc/ssl/certs -maxdepth 1 -type f -name '*.pem' 2>/dev/null
  find /usr/local/share/ca-certificates -type f -name '*.crt' 2>/dev/null
}
CAS=$(extra_cas | sort)
KEY=$( { echo "$VERSION $SUITE $MIRROR $SECURITY $PACKAGES $(uname -m)"
         for c in $CAS; do sha256sum "$c" | cut -d' ' -f1; done; } | sha256sum | cut -c1-16)
TAR="$CACHE/rootfs-$KEY.tar"
mkdir -p "$CACHE"

# --- 4. the root filesystem, once per key ---------------------------------------------
if [ -s "$TAR" ]; then
  say "using the cached root filesystem $TAR"
else
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  WORK=$(mktemp -d "$CACHE/build.XXXXXX")
  ROOT="$WORK/rootfs"
  cleanup() {   # debootstrap mounts /proc and /sys in the target: a failure may leave them
    local m
    for m in $(awk -v r="$ROOT" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r); do
      umount -l "$m" || true
    done
    rm -rf --one-file-system "$WORK"
  }
  trap cleanup EXIT
  say "debootstrap --variant=minbase $SUITE from $MIRROR (packages: $PACKAGES)"
  t0=$(date +%s)
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed (full log above)"; }
  # apt inside the image: the same mirror, in Debian's deb822 format, as python:*-slim has
  rm -f "$ROOT/etc/apt/sources.list"
  cat > "$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # slim: no docs for what later steps install either (Debian's docker images do this)
  cat > "$ROOT/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
  find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/var/lib/apt/lists/* \
         "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/log/*.log
  for c in $CAS; do
    install -m 0644 "$c" "$ROOT/usr/local/share/ca-certificates/host-$(basename "${c%.*}").crt"
  done
  [ -z "$CAS" ] || chroot "$ROOT" update-ca-certificates 2>&1 | { grep -v "^rehash: warning" || true; } >&2
  # the tarball: numeric owners; no /dev, /proc, /sys contents (the runtime makes those)
  tar --numeric-owner -C "$ROOT" -cf "$TAR.part" --exclude='./dev/*' --exclude='./proc/*' \
      --exclude='./sys/*' .
  mv "$TAR.part" "$TAR"
  say "root filesystem made in $(( $(date +%s) - t0 )) s: $TAR ($(du -h "$TAR" | cut -f1))"
  find "$CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -path "$TAR" -delete   # older keys
fi

# --- 5. into the store --------------------------------------------------------------
"$GLASSBOX" import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' \
  -c 'CMD ["python3"]' \
  -m "debootstrap --variant=minbase $SUITE + $PACKAGES (deploy/kubernetes/local-base.sh)" \
  "$TAR" "$NAME" >/dev/null
say "imported $NAME"
