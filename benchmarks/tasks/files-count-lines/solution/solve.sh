#!/bin/bash
# Reference solution for files-count-lines.
set -e
cd "${APP_DIR:-/app}"
wc -l < data.txt | tr -d ' ' > count.txt
