#!/bin/bash
# Verifier for data-csv-stats: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
import csv
rows = list(csv.DictReader(open("stats.csv")))
got = [(r["city"], float(r["min"]), float(r["max"]), float(r["mean"])) for r in rows]
assert got == [("oslo", -3.0, 5.0, 1.0), ("rome", 12.0, 20.0, 16.3)], got
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
