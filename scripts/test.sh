#!/usr/bin/env bash
# Runs every test of the project: builds with tests, runs the Swift test suites (including the ones that start the
# real modelctl binary), and lints the formatting. Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/setup.sh

scripts/python-tools.sh

echo "== build"
swift build --build-tests

echo "== tests"
swift test --skip-build --parallel

echo "== format"
scripts/lint.sh
