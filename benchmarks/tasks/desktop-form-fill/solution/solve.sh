#!/bin/bash
# Reference solution for desktop-form-fill.
set -e
cd "${APP_DIR:-/app}"
click() {  # click the centre of a widget named in the app's widget map
  xy=$(python3 -c "import json,sys; print(*json.load(open(sys.argv[1]))[sys.argv[2]])" "${LOGS_DIR:-/logs}/agent/widgets.json" "$1")
  xdotool mousemove $xy click 1
  sleep 0.3
}
for i in $(seq 50); do [ -f "${LOGS_DIR:-/logs}/agent/widgets.json" ] && break; sleep 0.2; done
click name
xdotool type --delay 20 "Ada Lovelace"
click email
xdotool type --delay 20 "ada@example.org"
click submit
sleep 0.5
