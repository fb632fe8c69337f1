#!/bin/bash
# Reference solution for fix-syntax-error.
set -e
cd "${APP_DIR:-/app}"
cat > greet.py <<'EOF'
import sys
print(f"Hello, {sys.argv[1]}!")
EOF
