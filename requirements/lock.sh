#!/bin/sh
# Refreshes the locks from pyproject.toml: `sh requirements/lock.sh` (needs uv:
# `.venv/bin/python -m pip install uv`). It keeps every pin already in the locks and adds or drops
# only what pyproject.toml changed; `sh requirements/lock.sh --upgrade` moves every pin to the
# newest release its range allows. One resolution serves Python 3.11 to 3.13 on every platform
# (--universal); the hashes make pip check every file it installs.
#   runtime.txt  what the service and the Docker image install (with the PostgreSQL driver)
#   test.txt     what the tests and CI install: the runtime pins, plus the test tools
set -eu
cd "$(dirname "$0")/.."
lock() {
    uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
        --quiet --custom-compile-command "sh requirements/lock.sh" "$@"
}
lock --extra postgres --output-file requirements/runtime.txt "$@"
lock --extra test --constraints requirements/runtime.txt --output-file requirements/test.txt "$@"
