#!/usr/bin/env bash
# Python environment for models/ (PyTorch training and ONNX export).
#
#   bash scripts/python-env.sh setup   # create/refresh .venv (fast no-op when up to date)
#   bash scripts/python-env.sh test    # setup, then pytest models/tests
#   bash scripts/python-env.sh train-setup  # setup + gensim (word2vec training only)
#
# .venv is a venv over a base interpreter that already has torch, numpy, onnx and pytest
# (default /usr/bin/python3 with Debian's python3-torch etc.; installed with apt-get when
# missing and we are root). Override the base with MEDSTREAM_PYTHON=/path/to/python, e.g. a
# venv with torch 2.x from PyPI. pip installs models/ itself, editable, with --no-index (never
# torch from PyPI), and one pinned wheel from PyPI: onnxruntime (Python), which the export step
# needs for ONNX parity checks and int8 quantization (medstream_models.quantize). It is installed
# with --no-deps: what it imports (numpy, protobuf, packaging, onnx) comes from the base.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.medstream-stamp"
PYPROJECT="$ROOT/models/pyproject.toml"
DEFAULT_PYTHON=/usr/bin/python3
BASE_PY="${MEDSTREAM_PYTHON:-$DEFAULT_PYTHON}"
# setuptools < 70.1 also needs the wheel package for editable installs (python3-wheel below).
REQUIRED_MODULES=(torch numpy onnx pytest venv ensurepip setuptools)
DEBIAN_PACKAGES=(python3-torch python3-numpy python3-onnx python3-pytest python3-venv python3-setuptools python3-wheel)
# Word-vector training (scripts/train-models.sh) also needs gensim; tests and export do not.
# Debian bookworm's python3-gensim is 4.2.0 (with scipy 1.10, smart-open from Debian); with
# MEDSTREAM_PYTHON it is pip-installed at this pinned version into that interpreter instead.
TRAIN_MODULES=(gensim)
DEBIAN_TRAIN_PACKAGES=(python3-gensim)
GENSIM_PIP_PIN="gensim==4.3.3"
# onnxruntime for export/quantization: not packaged by Debian. 1.15.1 is the newest release
# whose quantization tool runs on Debian bookworm's onnx 1.12 (1.16 imports onnx.reference, new
# in onnx 1.13) and has a cp311 wheel. The quantized graph it writes (DynamicQuantizeLinear +
# MatMulInteger, opset-17 domain) runs on any later onnxruntime, e.g. onnxruntime-node's.
# Override for another base interpreter (e.g. MEDSTREAM_ONNXRUNTIME_PIN=onnxruntime==1.20.1).
ONNXRUNTIME_PIP_PIN="${MEDSTREAM_ONNXRUNTIME_PIN:-onnxruntime==1.15.1}"

log() { echo "python-env: $*" >&2; }
die() {
  echo "python-env: error: $*" >&2
  exit 1
}

usage() {
  echo "usage: bash scripts/python-env.sh {setup|train-setup|test} [pytest args...]" >&2
  exit 2
}

# Prints the modules from REQUIRED_MODULES that the base interpreter cannot import.
missing_modules() {
  "$BASE_PY" - "${REQUIRED_MODULES[@]}" <<'PY'
import importlib.util, sys
print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))
PY
}

# Identity of the base interpreter: path, version, prefix (a rebuilt base means a new venv).
base_identity() {
  "$BASE_PY" -c 'import sys; print(sys.executable, sys.version.split()[0], sys.prefix, sys.base_prefix)'
}

stamp_value() {
  {
    base_identity
    cat "$PYPROJECT" "${BASH_SOURCE[0]}"
  } | sha256sum | cut -d' ' -f1
}

ensure_base() {
  command -v "$BASE_PY" >/dev/null 2>&1 || die "base interpreter $BASE_PY not found (MEDSTREAM_PYTHON=${MEDSTREAM_PYTHON:-unset})"
  local missing
  missing="$(missing_modules)"
  [[ -z "$missing" ]] && return 0
  if [[ -z "${MEDSTREAM_PYTHON:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "$BASE_PY lacks: $missing; installing ${DEBIAN_PACKAGES[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${DEBIAN_PACKAGES[@]}" >&2
    missing="$(missing_modules)"
    [[ -z "$missing" ]] && return 0
    die "$BASE_PY still cannot import: $missing (after apt-get install ${DEBIAN_PACKAGES[*]})"
  fi
  if [[ -n "${MEDSTREAM_PYTHON:-}" ]]; then
    die "MEDSTREAM_PYTHON=$BASE_PY cannot import: $missing. Install them into that interpreter (e.g. $BASE_PY -m pip install torch numpy onnx pytest setuptools wheel), or unset MEDSTREAM_PYTHON to use $DEFAULT_PYTHON."
  fi
  die "$BASE_PY cannot import: $missing. As root: apt-get install ${DEBIAN_PACKAGES[*]}; or set MEDSTREAM_PYTHON to an interpreter that has them."
}

create_venv() {
  log "creating $VENV from $BASE_PY"
  rm -rf "$VENV"
  # --without-pip: pip and setuptools come from the base like torch does. A venv-local copy
  # (ensurepip's bundled setuptools) would shadow the base's and can be too old for its torch
  # (torch 2.x requires setuptools >= 77).
  "$BASE_PY" -m venv --system-site-packages --without-pip "$VENV"
  # A venv made from a venv only sees the *root* interpreter's site-packages; when the base is
  # itself a venv (torch 2.x from PyPI, say), put its site-packages on the path with a .pth
  # file, ahead of the root interpreter's.
  local base_sites venv_site
  base_sites="$("$BASE_PY" -c 'import site, sys; print("\n".join(site.getsitepackages()) if sys.prefix != sys.base_prefix else "")')"
  if [[ -n "$base_sites" ]]; then
    venv_site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    printf '%s\n' "$base_sites" >"$venv_site/_medstream_base.pth"
    log "base is a venv: linked its site-packages via $venv_site/_medstream_base.pth"
  fi
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "the base has no pip; bootstrapping one into $VENV with ensurepip"
    "$VENV/bin/python" -m ensurepip --default-pip >&2
  fi
}

# Whether .venv imports onnxruntime's quantization tool at the pinned version.
onnxruntime_ok() {
  "$VENV/bin/python" - "${ONNXRUNTIME_PIP_PIN#*==}" <<'PY' 2>/dev/null
import sys
import onnxruntime
import onnxruntime.quantization  # noqa: F401  (imports onnx: fails on an incompatible onnx)
sys.exit(0 if onnxruntime.__version__ == sys.argv[1] else 1)
PY
}

install_onnxruntime() {
  onnxruntime_ok && return 0
  log "installing $ONNXRUNTIME_PIP_PIN into $VENV from PyPI (--no-deps)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    "$ONNXRUNTIME_PIP_PIN" >&2 ||
    die "pip could not install $ONNXRUNTIME_PIP_PIN (PyPI unreachable? another interpreter: set MEDSTREAM_ONNXRUNTIME_PIN)"
  onnxruntime_ok ||
    die "$ONNXRUNTIME_PIP_PIN is installed but onnxruntime.quantization does not import with this onnx; set MEDSTREAM_ONNXRUNTIME_PIN to a release that matches it"
}

setup() {
  local want
  if [[ -x "$VENV/bin/python" && -f "$STAMP" ]] && command -v "$BASE_PY" >/dev/null 2>&1; then
    want="$(stamp_value)"
    if [[ "$(cat "$STAMP")" == "$want" ]] && "$VENV/bin/python" -c 'import medstream_models' 2>/dev/null &&
      onnxruntime_ok; then
      log "up to date ($VENV)"
      return 0
    fi
  fi
  ensure_base
  want="$(stamp_value)"
  local identity
  identity="$(base_identity)"
  if [[ ! -x "$VENV/bin/python" || ! -f "$VENV/.medstream-base" || "$(cat "$VENV/.medstream-base")" != "$identity" ]]; then
    create_venv
    printf '%s\n' "$identity" >"$VENV/.medstream-base"
  fi
  log "installing models/ (editable, --no-index: dependencies must come from the base interpreter)"
  (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-index --no-build-isolation --editable ./models) ||
    die "pip could not install models/ from what the base interpreter provides; see the pip error above (a dependency in models/pyproject.toml that $BASE_PY lacks?)"
  install_onnxruntime
  "$VENV/bin/python" - <<'PY' || die "the new environment is broken"
import medstream_models, numpy, onnx, onnxruntime, pytest, torch
print(f"python-env: torch {torch.__version__} ({torch.__file__}), numpy {numpy.__version__}, "
      f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, pytest {pytest.__version__}, "
      f"cuda available: {torch.cuda.is_available()}")
PY
  printf '%s\n' "$want" >"$STAMP"
  log "ready: $VENV"
}

run_tests() {
  setup
  local rc=0
  (cd "$ROOT" && "$VENV/bin/python" -m pytest models/tests -q "$@") || rc=$?
  if [[ $rc == 5 ]]; then
    die "pytest collected no tests in models/tests (exit 5)"
  fi
  return "$rc"
}

# gensim for word2vec: a no-op (no network) when the base interpreter already imports it.
train_setup() {
  setup
  if "$VENV/bin/python" -c 'import gensim' 2>/dev/null; then
    log "gensim $("$VENV/bin/python" -c 'import gensim; print(gensim.__version__)') present"
    return 0
  fi
  if [[ -z "${MEDSTREAM_PYTHON:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${DEBIAN_TRAIN_PACKAGES[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${DEBIAN_TRAIN_PACKAGES[@]}" >&2 ||
      { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${DEBIAN_TRAIN_PACKAGES[@]}" >&2; }
  elif [[ -n "${MEDSTREAM_PYTHON:-}" ]]; then
    log "installing $GENSIM_PIP_PIN into $BASE_PY with pip"
    "$BASE_PY" -m pip install --quiet "$GENSIM_PIP_PIN" >&2
  else
    die "gensim is missing: as root apt-get install ${DEBIAN_TRAIN_PACKAGES[*]}, or use MEDSTREAM_PYTHON with pip install $GENSIM_PIP_PIN"
  fi
  "$VENV/bin/python" -c 'import gensim' 2>/dev/null || die "gensim still not importable from $VENV"
  local m
  for m in "${TRAIN_MODULES[@]}"; do "$VENV/bin/python" -c "import $m" || die "cannot import $m"; done
  log "gensim $("$VENV/bin/python" -c 'import gensim; print(gensim.__version__)') ready"
}

case "${1:-}" in
  train-setup)
    [[ $# == 1 ]] || usage
    train_setup
    ;;
  setup)
    [[ $# == 1 ]] || usage
    setup
    ;;
  test)
    shift
    run_tests "$@"
    ;;
  *) usage ;;
esac
