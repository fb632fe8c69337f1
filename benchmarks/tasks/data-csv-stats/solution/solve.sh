#!/bin/bash
# Reference solution for data-csv-stats.
set -e
cd "${APP_DIR:-/app}"
python3 - <<'EOF'
import csv
from collections import defaultdict
v = defaultdict(list)
for r in csv.DictReader(open("temps.csv")):
    v[r["city"]].append(float(r["temp"]))
with open("stats.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["city", "min", "max", "mean"])
    for c in sorted(v):
        w.writerow([c, min(v[c]), max(v[c]), round(sum(v[c]) / len(v[c]), 1)])
EOF
