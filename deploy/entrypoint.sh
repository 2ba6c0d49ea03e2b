#!/bin/sh
# The container's start, and the test's (tests/ops/test_deploy.py): bring the schema up to date,
# then serve with gunicorn. Settings come from ROLLCALL_* variables (README: Settings);
# ROLLCALL_WORKERS overrides the 2 x CPUs + 1 default.
set -eu
rollcall db upgrade
if [ -n "${ROLLCALL_WORKERS:-}" ]; then
    set -- --workers "$ROLLCALL_WORKERS"
fi
exec rollcall serve --host "${ROLLCALL_HOST:-0.0.0.0}" --port "${ROLLCALL_PORT:-8000}" "$@"
