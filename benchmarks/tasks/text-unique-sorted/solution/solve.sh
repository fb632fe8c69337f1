#!/bin/bash
# Reference solution for text-unique-sorted.
set -e
cd "${APP_DIR:-/app}"
sort -u names.txt > unique.txt
