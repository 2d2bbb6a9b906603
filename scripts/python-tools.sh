#!/usr/bin/env bash
# Creates the git-ignored virtualenv `.venv` with the Python tools the tests run against (the OpenSSF
# `model_signing` CLI for signature interop), when it is missing. Safe to run again; installs nothing that is there.
# pyOpenSSL is listed because model-signing 1.1.1 imports it at start-up without declaring it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x .venv/bin/model_signing ]; then
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "python-tools: python3 is required to create .venv" >&2
    exit 1
fi
echo "python-tools: creating .venv with model-signing 1.1.1"
[ -x .venv/bin/pip ] || python3 -m venv .venv
.venv/bin/pip install -q "model-signing==1.1.1" pyopenssl
