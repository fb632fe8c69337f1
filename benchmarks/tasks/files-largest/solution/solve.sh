#!/bin/bash
# Reference solution for files-largest.
set -e
cd "${APP_DIR:-/app}"
ls -S blobs | head -1 > largest.txt
