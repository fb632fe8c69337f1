#!/bin/bash
# Verifier for py-primes: reward 1 when the check passes, else 0 (Harbor's reward.txt).
cd "${APP_DIR:-/app}" || exit 1
OUT="${LOGS_DIR:-/logs}/verifier"
mkdir -p "$OUT"
if python3 - <<'LMC_CHECK'
got = [int(x) for x in open("primes.txt").read().strip().split(",")]
assert got == [p for p in range(2, 100) if all(p % d for d in range(2, p))]
LMC_CHECK
then echo 1 > "$OUT/reward.txt"; else echo 0 > "$OUT/reward.txt"; fi
