#!/usr/bin/env bash
# The one test command (README): Rust unit, conformance and integration tests, then the interop
# tests with the real Microsoft Python libraries (msal, azure-identity) against a real issuer.
# Postgres conformance runs when TOKENGATE_TEST_PG_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -p tokengate
cargo test --locked --workspace

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
# @azure/msal-browser for the single-page-app test, exactly as pinned in its lock file.
(cd tests/interop/spa && npm ci --no-audit --no-fund --silent)
TOKENGATE_BIN="$PWD/target/debug/tokengate" .venv/bin/python -m pytest tests/interop -q
