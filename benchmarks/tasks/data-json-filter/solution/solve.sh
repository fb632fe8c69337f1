#!/bin/bash
# Reference solution for data-json-filter.
set -e
cd "${APP_DIR:-/app}"
python3 -c "import json; u=json.load(open('users.json')); json.dump([x['name'] for x in u if x['active'] and x['age']>=18], open('adults.json','w'))"
