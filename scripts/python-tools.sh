#!/usr/bin/env bash
# Creates or completes the git-ignored virtualenv `.venv` with the Python tools the tests run against: the OpenSSF
# `model_signing` CLI (signature interop) and the MLflow client (`Tests/mlflow/`, MLflow API interop). Safe to run
# again: it exits at once when every tool is there at its pinned version, and otherwise installs only what is missing.
# pyOpenSSL is listed because model-signing 1.1.1 imports it at start-up without declaring it. mlflow-skinny leaves
# out numpy and pandas, which `mlflow.pyfunc` imports (to log and load a python_model); both are pinned to versions
# that install as wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL_SIGNING=("model-signing==1.1.1" "pyopenssl")
MLFLOW=("mlflow-skinny==3.17.2" "numpy==2.4.6" "pandas==3.1.1")

# Whether .venv holds every `name==version` given (no import: reading the installed metadata takes milliseconds).
has_pinned() {
    [ -x .venv/bin/python ] || return 1
    .venv/bin/python - "$@" >/dev/null 2>&1 <<'EOF'
import sys
from importlib import metadata
for pin in sys.argv[1:]:
    name, _, version = pin.partition("==")
    try:
        installed = metadata.version(name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if version and installed != version:
        sys.exit(1)
EOF
}

has_model_signing() { [ -x .venv/bin/model_signing ] && has_pinned "${MODEL_SIGNING[@]}"; }
has_mlflow() { has_pinned "${MLFLOW[@]}"; }

if has_model_signing && has_mlflow; then
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "python-tools: python3 is required to create .venv" >&2
    exit 1
fi
[ -x .venv/bin/pip ] || python3 -m venv .venv
if ! has_model_signing; then
    echo "python-tools: installing model-signing 1.1.1 into .venv"
    .venv/bin/pip install -q "${MODEL_SIGNING[@]}"
fi
if ! has_mlflow; then
    echo "python-tools: installing mlflow-skinny 3.17.2 (with numpy, pandas) into .venv"
    .venv/bin/pip install -q "${MLFLOW[@]}"
fi
