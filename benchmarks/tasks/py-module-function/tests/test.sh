#!/bin/bash
# Verifier for py-module-function: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import sys; sys.path.insert(0, ".")
import mathx
assert mathx.mean([1, 2, 3, 4]) == 2.5
try:
    mathx.mean([])
except ValueError:
    pass
else:
    raise AssertionError("no ValueError")
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
