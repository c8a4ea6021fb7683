# Sourced by scripts/test and .ci/run: makes the real peers the tests use
# available on this machine (Python tools in a private venv, PostgreSQL up).
# Idempotent and quiet when everything is already in place.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# A venv with these requirements; reinstalled only when they changed since
# the last install.
crmsync_venv() {
  local venv="$1" req="$2"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  if ! cmp -s "$req" "$venv/.installed-requirements" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.installed-requirements"
  fi
}
crmsync_venv "$ROOT/.tools/py" "$ROOT/scripts/requirements-test.txt"
export PATH="$ROOT/.tools/py/bin:$PATH"
# Schemathesis and openapi-python-client, apart (see the file); the API
# contract test finds them in .tools/contract/bin, not on PATH.
crmsync_venv "$ROOT/.tools/contract" "$ROOT/scripts/requirements-contract.txt"

# Dovecot (Debian's dovecot-imapd) for the e-mail tracking tests: the tests
# start their own private instance; the package's service is never used.
if [ ! -x /usr/sbin/dovecot ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi

# Chromium and its WebDriver (Debian's chromium, chromium-driver) for the
# dashboard's end-to-end test; it starts its own headless browser.
if { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; } \
  && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# PostgreSQL: the machine kind runs one at 127.0.0.1:5432; start it if it is down.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
export CRMSYNC_TEST_POSTGRES_URL="${CRMSYNC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
