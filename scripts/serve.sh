#!/usr/bin/env bash
# Builds modelctl (release) and starts the registry with its embedded defaults: SQLite and blobs in ./modelctl-data,
# listening on 127.0.0.1:8080. Extra arguments go to `modelctl serve` (e.g. --listen 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/setup.sh
swift build -c release --product modelctl
exec .build/release/modelctl serve "$@"
