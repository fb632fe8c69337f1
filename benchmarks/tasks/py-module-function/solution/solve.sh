#!/bin/bash
# Reference solution for py-module-function.
set -e
cd "${APP_DIR:-/app}"
cat > mathx.py <<'EOF'
def mean(values):
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)
EOF
