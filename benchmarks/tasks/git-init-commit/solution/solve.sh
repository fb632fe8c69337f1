#!/bin/bash
# Reference solution for git-init-commit.
set -e
cd "${APP_DIR:-/app}"
cd work
git init -q
git config user.email bench@lmc.invalid
git config user.name bench
git add -A
git commit -q -m "initial import"
