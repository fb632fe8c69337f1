#!/bin/bash
# Verifier for fix-syntax-error: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
r = subprocess.run(["python3", "greet.py", "Ada"], capture_output=True, text=True, timeout=20)
assert r.stdout.strip() == "Hello, Ada!", r
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
