#!/bin/bash
# Reference solution for git-branch.
set -e
cd "${APP_DIR:-/app}"
cd repo
git checkout -q -b feature/login main
echo login > login.txt
git add login.txt
git commit -q -m "add login"
