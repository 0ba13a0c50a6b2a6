#!/usr/bin/env bash
# MMBox build entry point: set-up, run, test, bench, image, lock.
# Every subcommand first makes sure the machine has what it needs (Debian packages,
# the virtual environment from the lock file), so each works on a fresh Debian 12 as root.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
DATA="${MMBOX_DATA:-$ROOT/var}"
SIMDATA="${MMBOX_SIMDATA:-$ROOT/simdata}"

# Debian packages: the interpreter the box runs on, the token, the browser for panel tests,
# the OCI tools for the image, umockdev for USB-key tests.
DEBS=(
  python3.11 python3.11-venv python3.11-dev python3-gi gcc
  softhsm2 opensc sqlite3 ca-certificates
  chromium fonts-liberation
  runc umoci buildah skopeo bubblewrap dpkg-dev
  umockdev gir1.2-umockdev-1.0
)

log() { printf '\033[1m[build]\033[0m %s\n' "$*" >&2; }

ensure_debs() {
  local missing=()
  for pkg in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "build.sh: Debian packages missing (${missing[*]}); run as root or install them first" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_venv() {
  local lock="$ROOT/requirements-dev.lock" stamp="$VENV/.lock.sha256"
  local want
  want=$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -x "$PY" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "creating $VENV from the lock file"
  # Debian's interpreter, so every sandboxed uid can run it; system site-packages for gi.
  [ -x "$PY" ] || /usr/bin/python3.11 -m venv --system-site-packages "$VENV"
  # Only the lock decides what is installed: ignore any local pip configuration.
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    "$PY" -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE=/dev/null \
    "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
  echo "$want" >"$stamp"
}

setup() {
  ensure_debs
  ensure_venv
}

cmd_run() {
  setup
  exec "$PY" -m provisioning.devbox run --data "$DATA" --simdata "$SIMDATA" "$@"
}

cmd_test() {
  setup
  log "ruff"
  "$VENV/bin/ruff" check appliance hsm ui provisioning simulator tests
  log "mypy"
  "$VENV/bin/mypy"
  log "pytest"
  "$PY" -m pytest "$@"
}

cmd_bench() {
  setup
  "$PY" -m pytest tests -m bench -q -s -p no:cacheprovider "$@"
}

cmd_image() {
  setup
  exec bash "$ROOT/image/build-image.sh" "$@"
}

cmd_lock() {
  # Re-resolve the pins (needs the uv resolver; not part of a normal build).
  setup
  "$PY" -m pip install -q uv
  local opts=(--python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes -q)
  "$VENV/bin/uv" pip compile pyproject.toml "${opts[@]}" -o requirements.lock
  "$VENV/bin/uv" pip compile pyproject.toml --extra dev "${opts[@]}" -o requirements-dev.lock
}

usage() {
  cat <<USAGE
usage: ./build.sh COMMAND [ARGS]
  run     provision a development box under ./var, start the simulator and the box
  test    run ruff, mypy and every test (extra arguments go to pytest)
  bench   run the benchmarks and print their figures and ratios
  image   build the scratch OCI image under ./build/image
  lock    re-resolve requirements*.lock from pyproject.toml
USAGE
}

case "${1:-}" in
  run|test|bench|image|lock) c=$1; shift; "cmd_$c" "$@" ;;
  setup) setup ;;
  *) usage; exit 2 ;;
esac
