#!/bin/bash
# Reference solution for fix-shell-script.
set -e
cd "${APP_DIR:-/app}"
cat > backup.sh <<'EOF'
#!/bin/bash
mkdir -p backup
for f in docs/*.txt; do
  cp "$f" backup/
done
EOF
bash backup.sh
