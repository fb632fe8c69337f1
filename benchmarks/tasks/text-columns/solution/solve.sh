#!/bin/bash
# Reference solution for text-columns.
set -e
cd "${APP_DIR:-/app}"
awk '$2 > 30 {print $3}' table.txt > cities.txt
