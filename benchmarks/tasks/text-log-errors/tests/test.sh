#!/bin/bash
# Verifier for text-log-errors: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
assert open("errors_per_day.txt").read().split("\n")[:2] == ["2024-03-01 2", "2024-03-02 1"]
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
