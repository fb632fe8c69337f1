#!/bin/bash
# Verifier for files-move-logs: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import os
assert sorted(os.listdir("logs")) == ["a.log", "b.log", "c.log"]
assert not [f for f in os.listdir(".") if f.endswith(".log")]
assert os.path.isfile("keep.txt") and os.path.isfile("notes.md")
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
