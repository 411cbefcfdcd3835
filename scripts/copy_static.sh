#!/bin/sh
# Copy the front-end libraries that npm installed from package-lock.json into Django's static
# tree (src/civicgrid/static/vendor/, gitignored). Run by `make static`; `collectstatic` then
# picks them up like any other static file. Nothing is fetched at page time: no CDN.
set -eu
cd "$(dirname "$0")/.."

# Install exactly what the lock file pins when node_modules is missing or older than the lock.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi

dest=src/civicgrid/static/vendor
rm -rf "$dest"
mkdir -p "$dest/htmx" "$dest/maplibre-gl"

cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx/"
cp node_modules/htmx.org/LICENSE "$dest/htmx/LICENSE"

# MapLibre 6 is an ES module that loads its worker from a file next to itself.
for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
    cp "node_modules/maplibre-gl/dist/$f" "$dest/maplibre-gl/"
done
cp node_modules/maplibre-gl/LICENSE.txt "$dest/maplibre-gl/LICENSE.txt"

# Apache ECharts for the operations screen's charts (a plain script: window.echarts).
mkdir -p "$dest/echarts"
cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE "$dest/echarts/"

echo "static: htmx $(node -p "require('./node_modules/htmx.org/package.json').version")," \
     "maplibre-gl $(node -p "require('./node_modules/maplibre-gl/package.json').version") -> $dest"
