#!/bin/bash
# Reference solution for fix-failing-test.
set -e
cd "${APP_DIR:-/app}"
cat > text_utils.py <<'EOF'
import re
def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
EOF
