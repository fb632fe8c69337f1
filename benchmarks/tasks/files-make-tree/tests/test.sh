#!/bin/bash
# Verifier for files-make-tree: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import os
for p in ("project/src", "project/tests", "project/docs"):
    assert os.path.isdir(p), p
assert os.path.isfile("project/README.md") and os.path.getsize("project/README.md") == 0
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
