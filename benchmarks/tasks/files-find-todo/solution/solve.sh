#!/bin/bash
# Reference solution for files-find-todo.
set -e
cd "${APP_DIR:-/app}"
grep -rl TODO src | sort > todo.txt
