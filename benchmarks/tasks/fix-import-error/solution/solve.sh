#!/bin/bash
# Reference solution for fix-import-error.
set -e
cd "${APP_DIR:-/app}"
sed -i 's/from helper import answer/from helpers import answer/' app.py
