#!/usr/bin/env bash
# Real Odoo Community for the tests and benchmarks, one per supported serie, from ../shared/odoo<serie> (a
# trimmed Odoo <serie>.0 tarball with its requirements). Unpacks it under target/odoo<serie>/src and makes its
# venv under target/odoo<serie>/venv; both are cached and redone only when the tarball or the requirements
# change. Prints the directory.
#   tests/odoo/env.sh setup [SERIE]        -> prints DIR (DIR/src/odoo-bin, DIR/venv/bin/python); SERIE 17 (default), 18 or 19
#   tests/odoo/env.sh role POSTGRES_URL    -> creates the superuser role `odoo` (Odoo refuses `postgres`)
# BANKBRIDGE_SHARED names the folder holding odoo17/, odoo18/, odoo19/ (default: ../shared beside the checkout).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-setup}" in
setup)
    serie=${2:-17}
    case "$serie" in 17|18|19) ;; *) echo "unsupported Odoo serie: $serie (17, 18 or 19)" >&2; exit 2 ;; esac
    shared=${BANKBRIDGE_SHARED:-$repo/../shared}/odoo$serie
    dest=$repo/target/odoo$serie
    tarball="$shared/odoo$serie-community-trimmed.tar.xz"
    [ -f "$tarball" ] || { echo "Odoo $serie tarball not found: $tarball (set BANKBRIDGE_SHARED)" >&2; exit 1; }
    stamp=$(cat "$tarball" "$shared/requirements.txt" | sha256sum | cut -c1-16)
    if [ "$(cat "$dest/.stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "== preparing real Odoo $serie under $dest (unpack + venv, cached afterwards)" >&2
        rm -rf "$dest"
        mkdir -p "$dest/src"
        tar xJf "$tarball" -C "$dest/src"
        python3 -m venv "$dest/venv"
        "$dest/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$shared/requirements.txt" >&2
        echo "$stamp" >"$dest/.stamp"
    fi
    echo "$dest"
    ;;
role)
    url=${2:?postgres url}
    psql -q "$url" -v ON_ERROR_STOP=1 -c \
        "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'odoo') THEN CREATE ROLE odoo SUPERUSER LOGIN; END IF; END \$\$;"
    ;;
*) echo "usage: $0 setup [17|18|19] | role POSTGRES_URL" >&2; exit 2 ;;
esac
