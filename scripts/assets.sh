#!/usr/bin/env bash
# Install the pinned front-end packages (package.json / package-lock.json) and copy the files the pages load
# into web/static/vendor. Nothing here is committed; `make run` and `make test` call it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -x node_modules/.bin/esbuild ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
vendor=web/static/vendor
rm -rf "$vendor"; mkdir -p "$vendor"
cp node_modules/htmx.org/dist/htmx.min.js "$vendor/"
cp node_modules/htmx-ext-sse/dist/sse.min.js "$vendor/htmx-ext-sse.min.js"  # live machine panels (MES)
mkdir -p "$vendor/bpmn-js" "$vendor/dmn-js"
cp node_modules/bpmn-js/dist/bpmn-modeler.production.min.js node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js "$vendor/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets "$vendor/bpmn-js/"
cp node_modules/dmn-js/dist/dmn-modeler.production.min.js node_modules/dmn-js/dist/dmn-viewer.production.min.js "$vendor/dmn-js/"
cp -r node_modules/dmn-js/dist/assets "$vendor/dmn-js/"
# The designer's modeler with the Camunda properties panel has no UMD build: bundle it (web/static/src/modeler.js).
node_modules/.bin/esbuild web/static/src/modeler.js --bundle --minify --format=iife --log-level=warning \
  --outfile="$vendor/taktflow-modeler.js"
cp node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css "$vendor/"
# /docs serves Swagger UI from here, so the API reference works without a CDN (offline plants).
mkdir -p "$vendor/swagger-ui"
cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,oauth2-redirect.html} "$vendor/swagger-ui/"
echo "assets: $(find "$vendor" -type f | wc -l) files in $vendor"
