#!/bin/bash
# Reference solution for data-csv-total.
set -e
cd "${APP_DIR:-/app}"
python3 -c "import csv,json; t={}
for r in csv.DictReader(open('sales.csv')): t[r['region']]=t.get(r['region'],0)+int(r['amount'])
json.dump(t,open('totals.json','w'))"
