#!/bin/bash
# Reference solution for data-json-merge.
set -e
cd "${APP_DIR:-/app}"
python3 - <<'EOF'
import json
def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
json.dump(merge(json.load(open("defaults.json")), json.load(open("overrides.json"))), open("config.json", "w"))
EOF
