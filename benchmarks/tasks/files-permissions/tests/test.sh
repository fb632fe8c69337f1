#!/bin/bash
# Verifier for files-permissions: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import os, stat
assert os.stat("run.sh").st_mode & stat.S_IXUSR
assert stat.S_IMODE(os.stat("secret.txt").st_mode) == 0o600
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
