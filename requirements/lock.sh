#!/bin/sh
# Refreshes the locks from pyproject.toml: `sh requirements/lock.sh` (needs uv:
# `.venv/bin/python -m pip install uv`). It keeps every pin already in the locks and adds or drops
# only what pyproject.toml changed; `sh requirements/lock.sh --upgrade` moves every pin to the
# newest release its range allows. One resolution serves Python 3.11 to 3.13 on every platform
# (--universal); the hashes make pip check every file it installs.
#   test.txt     what the tests and CI install: the service, the PostgreSQL driver, the test tools
#   runtime.txt  what the service and the Docker image install: the same pins, without the tools
# (resolved in this order, so that a test tool's own requirements narrow the service's pins too,
# and the image runs exactly the versions the tests ran)
set -eu
cd "$(dirname "$0")/.."
lock() {
    uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
        --quiet --custom-compile-command "sh requirements/lock.sh" "$@"
}
lock --extra postgres --extra test --output-file requirements/test.txt "$@"
lock --extra postgres --constraints requirements/test.txt --output-file requirements/runtime.txt "$@"
