#!/bin/bash
# Reference solution for text-extract-emails.
set -e
cd "${APP_DIR:-/app}"
grep -oE '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+' contacts.txt | sort -u > emails.txt
