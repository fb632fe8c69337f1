#!/bin/bash
# Verifier for git-revert-file: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
assert open("repo/app.txt").read() == "v1\n"
assert subprocess.run(["git", "-C", "repo", "status", "--porcelain"], capture_output=True, text=True).stdout.strip() == ""
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
