#!/bin/bash
# Verifier for data-json-merge: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import json
assert json.load(open("config.json")) == {"debug": True, "db": {"host": "db.internal", "port": 5432}, "name": "app"}
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
