#!/bin/bash
# Verifier for desktop-rename-window: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
out = subprocess.run(["xdotool", "search", "--name", "^Project: Phoenix$"], capture_output=True, text=True)
assert out.returncode == 0 and out.stdout.strip(), out
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
