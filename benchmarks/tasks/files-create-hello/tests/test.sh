#!/bin/bash
# Verifier for files-create-hello: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
assert open("hello.txt").read().strip() == "Hello, world!"
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
