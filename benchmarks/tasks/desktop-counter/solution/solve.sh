#!/bin/bash
# Reference solution for desktop-counter.
set -e
cd "${APP_DIR:-/app}"
click() {  # click the centre of a widget named in the app's widget map
  xy=$(python3 -c "import json,sys; print(*json.load(open(sys.argv[1]))[sys.argv[2]])" "${LOGS_DIR:-/logs}/agent/widgets.json" "$1")
  xdotool mousemove $xy click 1
  sleep 0.3
}
for i in $(seq 50); do [ -f "${LOGS_DIR:-/logs}/agent/widgets.json" ] && break; sleep 0.2; done
for i in 1 2 3 4 5; do click plus; done
click done
sleep 0.5
