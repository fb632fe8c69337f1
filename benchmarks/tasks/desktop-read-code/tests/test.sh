#!/bin/bash
# Verifier for desktop-read-code: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import os
want = open(os.path.join(os.environ.get("LOGS_DIR", "/logs"), "app", "vault-code")).read().strip()
assert open("code.txt").read().strip() == want
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
