#!/usr/bin/env bash
# Prepares a Debian machine that has the Swift toolchain: installs the system packages the build and the tests need,
# when they are missing. Safe to run again; installs nothing that is already there.
set -euo pipefail

packages=(libsqlite3-dev libarchive-dev libssl-dev libcurl4-openssl-dev libhdf5-dev pkg-config zstd curl openssl)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "setup: add /opt/swift/usr/bin to PATH" >&2
    fi
    echo "setup: the Swift toolchain (6.2 or later) is required: https://www.swift.org/install/linux/" >&2
    exit 1
fi
