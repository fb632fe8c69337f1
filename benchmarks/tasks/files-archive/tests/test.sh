#!/bin/bash
# Verifier for files-archive: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import tarfile
with tarfile.open("site.tar.gz", "r:gz") as t:
    names = set(t.getnames())
assert {"site/index.html", "site/style.css"} <= names, names
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
