#!/bin/bash
# Verifier for fix-failing-test: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
assert subprocess.run(["python3", "check_slug.py"], capture_output=True, text=True, timeout=20).stdout.strip() == "OK"
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
