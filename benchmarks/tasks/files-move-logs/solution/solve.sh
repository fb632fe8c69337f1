#!/bin/bash
# Reference solution for files-move-logs.
set -e
cd "${APP_DIR:-/app}"
mkdir -p logs
mv ./*.log logs/
