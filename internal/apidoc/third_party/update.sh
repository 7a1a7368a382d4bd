#!/usr/bin/env bash
# Copies the vendored browser libraries from npm into apidoc/assets/vendor,
# from the committed package-lock.json, so the Go build never needs npm.
# Run it after changing the version in package.json (then `npm install` to
# update the lockfile); TestVendoredUPlot checks the copy matches the lock.
#
#   apidoc/third_party/update.sh
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
dst=../assets/vendor/uplot
rm -rf "$dst"
mkdir -p "$dst"
cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE "$dst/"
echo "uplot $(node -p 'require("./node_modules/uplot/package.json").version') copied to apidoc/assets/vendor/uplot"
