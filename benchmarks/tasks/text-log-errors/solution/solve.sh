#!/bin/bash
# Reference solution for text-log-errors.
set -e
cd "${APP_DIR:-/app}"
grep ' ERROR ' server.log | awk '{print $1}' | sort | uniq -c | awk '{print $2" "$1}' > errors_per_day.txt
