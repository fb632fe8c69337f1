#!/bin/bash
# Prepares the working dir before the model starts.
set -e
git init -q -b main repo
cd repo
git config user.email bench@lmc.invalid
git config user.name bench
echo "v1" > app.txt
git add app.txt
git commit -q -m "first"
