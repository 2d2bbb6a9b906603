#!/usr/bin/env bash
# Checks formatting with the toolchain's swift-format and the repository's .swift-format; fails on any finding.
# `swift format format -i -r Sources Tests Plugins Package.swift` fixes most of them.
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --recursive Sources Tests Plugins Package.swift
# Domain types stay free of frameworks (docs/architecture.md).
if grep -rlE '^\s*(public |internal |@_exported )?import (Hummingbird|GRDB|PostgresNIO|AsyncHTTPClient|NIO)' Sources/*/Domain; then
    echo "lint: Domain/ must not import a framework" >&2
    exit 1
fi
