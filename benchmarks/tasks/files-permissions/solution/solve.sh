#!/bin/bash
# Reference solution for files-permissions.
set -e
cd "${APP_DIR:-/app}"
chmod u+x run.sh
chmod 600 secret.txt
