#!/bin/bash
# Prepares the working dir before the model starts.
set -e
chmod 644 run.sh secret.txt
