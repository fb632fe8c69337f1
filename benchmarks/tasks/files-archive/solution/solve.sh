#!/bin/bash
# Reference solution for files-archive.
set -e
cd "${APP_DIR:-/app}"
tar -czf site.tar.gz site
