#!/bin/bash
# Reference solution for data-jsonl-count.
set -e
cd "${APP_DIR:-/app}"
python3 -c "import json,collections; json.dump(dict(collections.Counter(json.loads(l)['type'] for l in open('events.jsonl') if l.strip())), open('counts.json','w'))"
