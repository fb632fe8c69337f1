#!/bin/bash
# Reference solution for git-revert-file.
set -e
cd "${APP_DIR:-/app}"
git -C repo checkout -- app.txt
