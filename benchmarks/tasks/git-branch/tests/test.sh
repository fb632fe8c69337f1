#!/bin/bash
# Verifier for git-branch: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import subprocess
def git(*a):
    return subprocess.run(["git", "-C", "repo", *a], capture_output=True, text=True).stdout.strip()
assert git("show", "feature/login:login.txt") == "login"
assert "login.txt" not in git("ls-tree", "--name-only", "main")
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
