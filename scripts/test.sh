#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, static checks, unit tests, real services
# (fetched once into .cache/), integration tests, Python model tests, services stopped again.
# Every phase runs even when an earlier one fails; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export MEDSTREAM_DATA="${MEDSTREAM_DATA:-../shared/data}"

started=$(date +%s)
failed=()
phase() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  echo
  echo "=== ${name}"
  if "$@"; then
    echo "=== ${name}: ok ($(($(date +%s) - t0)) s)"
  else
    echo "=== ${name}: FAILED ($(($(date +%s) - t0)) s)"
    failed+=("${name}")
  fi
}

if [ ! -d "${MEDSTREAM_DATA}" ]; then
  echo "MEDSTREAM_DATA=${MEDSTREAM_DATA} does not exist: point it at the shared data folder." >&2
  exit 2
fi

phase "install (npm ci)" npm ci --no-audit --no-fund
if [ ${#failed[@]} -gt 0 ]; then exit 1; fi
phase "python environment" bash scripts/python-env.sh setup
# The demo report's browser test needs headless Chromium (installed here when root with apt-get).
phase "chromium" bash scripts/chromium.sh
phase "typecheck" npm run -s typecheck
phase "lint" npm run -s lint
phase "format" npm run -s format:check
phase "build" npm run -s build
phase "unit tests" npm run -s test:unit

services_up() { npm run -s services -- up; }
phase "services up" services_up
trap 'echo; echo "=== services down"; npm run -s services -- down' EXIT
if [ -f .cache/services/env.sh ]; then
  # shellcheck source=/dev/null
  source .cache/services/env.sh
fi
phase "integration tests" npm run -s test:int
phase "python tests" npm run -s test:py

echo
echo "=== total $(($(date +%s) - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
  printf '=== failed phases: %s\n' "${failed[*]}"
  exit 1
fi
echo "=== all phases passed"
