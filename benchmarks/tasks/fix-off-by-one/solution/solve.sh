#!/bin/bash
# Reference solution for fix-off-by-one.
set -e
cd "${APP_DIR:-/app}"
sed -i 's/range(1, n)/range(1, n + 1)/' total.py
