#!/bin/bash
# Verifier for fix-import-error: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
assert subprocess.run(["python3", "app.py"], capture_output=True, text=True, timeout=20).stdout.strip() == "42"
assert "def answer" in open("helpers.py").read()
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
