#!/bin/bash
for f in $(ls docs/*.txt); do
  cp $f backup/
done
