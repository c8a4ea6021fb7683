# Sourced by scripts/test and .ci/run: makes the real peers the tests use
# available on this machine (Python tools in a private venv, PostgreSQL up).
# Idempotent and quiet when everything is already in place.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/py"
REQ="$ROOT/scripts/requirements-test.txt"

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
# Reinstall only when the requirements changed since the last install.
if ! cmp -s "$REQ" "$VENV/.installed-requirements" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$VENV/.installed-requirements"
fi
export PATH="$VENV/bin:$PATH"

# Dovecot (Debian's dovecot-imapd) for the e-mail tracking tests: the tests
# start their own private instance; the package's service is never used.
if [ ! -x /usr/sbin/dovecot ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi

# PostgreSQL: the machine kind runs one at 127.0.0.1:5432; start it if it is down.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
export CRMSYNC_TEST_POSTGRES_URL="${CRMSYNC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
