#!/bin/bash
# Reference solution for text-replace-word.
set -e
cd "${APP_DIR:-/app}"
sed -i 's/colour/color/g' letter.txt
