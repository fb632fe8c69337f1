#!/bin/bash
# Reference solution for py-primes.
set -e
cd "${APP_DIR:-/app}"
python3 -c "print(','.join(str(p) for p in range(2, 100) if all(p % d for d in range(2, p))))" > primes.txt
