#!/usr/bin/env bash
# Installs Podium into the current Python; with --test, its test dependencies too.
# Where apt is available and we are root, it also installs bubblewrap, the sandbox that keeps
# generated code off the network and out of the rest of the file system.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v bwrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "note: bubblewrap is not installed; generated code will run under resource limits" \
         "only (no network or file-system isolation)" >&2
  fi
fi

target="."
if [ "${1:-}" = "--test" ]; then
  target=".[test]"
fi
python -m pip install --quiet --editable "$target"
