#!/bin/bash
# Verifier for fix-off-by-one: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
for n, want in ((10, 55), (1, 1), (100, 5050)):
    out = subprocess.run(["python3", "total.py", str(n)], capture_output=True, text=True, timeout=20).stdout.strip()
    assert out == str(want), (n, out)
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
