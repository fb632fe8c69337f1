#!/bin/bash
# Reference solution for data-csv-to-json.
set -e
cd "${APP_DIR:-/app}"
python3 -c "import csv,json; json.dump([{'id':int(r['id']),'name':r['name'],'score':int(r['score'])} for r in csv.DictReader(open('people.csv'))], open('people.json','w'))"
