#!/bin/bash
# Reference solution for text-word-frequency.
set -e
cd "${APP_DIR:-/app}"
tr -cs 'A-Za-z' '\n' < story.txt | tr 'A-Z' 'a-z' | grep -v '^$' | sort | uniq -c | sort -rn | head -1 | awk '{print $2}' > top.txt
