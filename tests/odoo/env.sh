#!/usr/bin/env bash
# Real Odoo 17 Community for the tests and benchmarks, from ../shared/odoo17 (a trimmed Odoo 17.0 with its
# requirements). Unpacks it under target/odoo17/src and makes its venv under target/odoo17/venv; both are
# cached and redone only when the tarball or the requirements change. Prints the directory.
#   tests/odoo/env.sh setup            -> prints DIR (DIR/src/odoo-bin, DIR/venv/bin/python)
#   tests/odoo/env.sh role POSTGRES_URL  -> creates the superuser role `odoo` (Odoo refuses `postgres`)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=${BANKBRIDGE_ODOO_SHARED:-$repo/../shared/odoo17}
dest=${BANKBRIDGE_ODOO_DIR:-$repo/target/odoo17}
case "${1:-setup}" in
setup)
    tarball="$shared/odoo17-community-trimmed.tar.xz"
    [ -f "$tarball" ] || { echo "Odoo 17 tarball not found: $tarball (set BANKBRIDGE_ODOO_SHARED)" >&2; exit 1; }
    stamp=$(cat "$tarball" "$shared/requirements.txt" | sha256sum | cut -c1-16)
    if [ "$(cat "$dest/.stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "== preparing real Odoo 17 under $dest (unpack + venv, cached afterwards)" >&2
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
*) echo "usage: $0 setup | role POSTGRES_URL" >&2; exit 2 ;;
esac
