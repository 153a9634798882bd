#!/usr/bin/env bash
# The main job from a fresh clone: install (once), build, run `medstream demo`: the newest PubMed
# citations from E-utilities (or, when PubMed cannot be reached, the sample citations shipped
# with MedStream) → parser → model + normalizer → out/demo/ (NDJSON, PubTator, report.html).
# Extra arguments go to `medstream demo` (e.g. --offline, --days 3, --max-articles 50, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.medstream-install-stamp
if [ ! -f "${stamp}" ] || [ package-lock.json -nt "${stamp}" ]; then
  npm ci --no-audit --no-fund
  touch "${stamp}"
fi
npm run -s build
exec node dist/cli/main.js demo "$@"
