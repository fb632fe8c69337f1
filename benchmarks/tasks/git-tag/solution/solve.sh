#!/bin/bash
# Reference solution for git-tag.
set -e
cd "${APP_DIR:-/app}"
git -C repo tag -a v1.0.0 -m 'first release'
