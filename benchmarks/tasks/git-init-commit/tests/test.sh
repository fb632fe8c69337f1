#!/bin/bash
# Verifier for git-init-commit: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
log = subprocess.run(["git", "-C", "work", "log", "--format=%s"], capture_output=True, text=True).stdout.split("\n")
assert log[0] == "initial import", log
files = subprocess.run(["git", "-C", "work", "ls-files"], capture_output=True, text=True).stdout.split()
assert sorted(files) == ["a.txt", "b.txt"], files
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
