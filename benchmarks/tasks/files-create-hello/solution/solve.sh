#!/bin/bash
# Reference solution for files-create-hello.
set -e
cd "${APP_DIR:-/app}"
printf 'Hello, world!\n' > hello.txt
