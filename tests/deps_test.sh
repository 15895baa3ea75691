#!/usr/bin/env bash
# scripts/deps installs what the tests and the suite use, on a minimal Debian as on a full one.
# Each row: the package, why it is needed, and a check that what it provides is here. A row
# fails when the package is not in scripts/deps' list, or when the check fails after
# scripts/deps ran (scripts/test runs it first): then the list misses what provides it.
# Usage: tests/deps_test.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: deps_test.sh SOURCE_DIR}
listed=$("$src/scripts/deps" --list --tests) || { echo "scripts/deps --list failed"; exit 1; }

rows=(
  "ca-certificates|libcurl's CA bundle for https:// (the api tests' public-CA case, --api_url)|test -s /etc/ssl/certs/ca-certificates.crt"
  "openssl|the api tests make a private CA and an https endpoint|command -v openssl"
  "openmpi-bin|the mpi tests and scripts/suite --mpi run mpirun|command -v mpirun"
  "iproute2|scripts/hosts makes namespaced hosts (ip netns, veth, tc)|command -v ip && command -v tc"
  "util-linux|scripts/hosts: nsenter, unshare and taskset|command -v nsenter && command -v taskset"
  "chromium|the report's test opens it in headless Chromium|command -v chromium"
  "clang-format|scripts/test's format check|command -v clang-format"
  "git|the revision in every run's context|command -v git"
  "python3-pytest|the tools' tests|/usr/bin/python3 -c 'import pytest'"
  "flake8|the tools' lint step|/usr/bin/python3 -m flake8 --version"
  "python3-numpy|tools: statistics|/usr/bin/python3 -c 'import numpy'"
  "python3-scipy|tools: the U test and intervals|/usr/bin/python3 -c 'import scipy.stats'"
  "python3-matplotlib|tools: plots and timelines|/usr/bin/python3 -c 'import matplotlib'"
  "python3-aiohttp|tools/anchors/api.py and its tests|/usr/bin/python3 -c 'import aiohttp'"
  "python3-sqlalchemy|tools: the run store (history)|/usr/bin/python3 -c 'import sqlalchemy'"
  "python3-psycopg2|tools: the run store on PostgreSQL|/usr/bin/python3 -c 'import psycopg2'"
  "libjs-chart.js|tools: publish copies Chart.js into the site|test -s /usr/share/javascript/chart.js/chart.min.js"
  "postgresql|the run store's tests start a PostgreSQL server|ls /usr/lib/postgresql/*/bin/initdb"
  "python3-yaml|the CI recipes' test parses them|/usr/bin/python3 -c 'import yaml'"
)

status=0
for row in "${rows[@]}"; do
  IFS='|' read -r package why check <<<"$row"
  if ! grep -qx "$package" <<<"$listed"; then
    echo "FAIL: scripts/deps does not install $package ($why)"
    status=1
  elif ! bash -c "$check" >/dev/null 2>&1; then
    echo "FAIL: $package is listed, but '$check' fails here ($why)"
    status=1
  else
    echo "ok: $package ($why)"
  fi
done
exit $status
