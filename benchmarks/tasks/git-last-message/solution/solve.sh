#!/bin/bash
# Reference solution for git-last-message.
set -e
cd "${APP_DIR:-/app}"
git -C repo log -1 --format=%s > message.txt
