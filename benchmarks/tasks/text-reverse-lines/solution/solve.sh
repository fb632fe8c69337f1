#!/bin/bash
# Reference solution for text-reverse-lines.
set -e
cd "${APP_DIR:-/app}"
tac poem.txt > reversed.txt
