#!/usr/bin/env bash
# Regenerates docs/modelctl.1, the man page, from the command line's own help text (swift-argument-parser's
# generate-manual plugin, on a debug build). Run it after changing a command or option; a test
# (Tests/CLITests/DocumentationTests.swift) fails while the page lacks one.
#   scripts/man.sh            then: man -l docs/modelctl.1
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

swift package --allow-writing-to-package-directory generate-manual --configuration debug \
    --date "$(date -u +%Y-%m-%d)" --authors "the modelctl developers"
cp .build/plugins/GenerateManual/outputs/CLI/modelctl.1 docs/modelctl.1
echo "wrote docs/modelctl.1"
