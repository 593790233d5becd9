#!/usr/bin/env bash
# Refresh crawler/viewer/vendor/ from the npm registry: the released files of sigma, graphology and
# graphology-layout-forceatlas2, their licenses, and VERSIONS.json (name, version, tarball integrity).
#
#   crawler/viewer/refresh_vendor.sh                      # the versions pinned below
#   SIGMA=3.0.3 GRAPHOLOGY=0.26.0 FA2=0.10.1 crawler/viewer/refresh_vendor.sh
#
# Needs node and npm, here only: nothing is fetched when the package is installed or a page written.
# sigma and graphology ship UMD builds (dist/sigma.min.js, dist/graphology.umd.min.js), copied as
# released. graphology-layout-forceatlas2 ships CommonJS only: esbuild (from npm, into the same temporary
# folder) bundles its synchronous API into one IIFE, forceatlas2.min.js, exposing window.ForceAtlas2.
set -euo pipefail
SIGMA="${SIGMA:-3.0.3}"
GRAPHOLOGY="${GRAPHOLOGY:-0.26.0}"
FA2="${FA2:-0.10.1}"
ESBUILD="${ESBUILD:-0.25.0}"

here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --save-exact \
  "sigma@$SIGMA" "graphology@$GRAPHOLOGY" "graphology-layout-forceatlas2@$FA2" >/dev/null
npm install --no-audit --no-fund --save-exact "esbuild@$ESBUILD" >/dev/null  # its install script fetches its binary package from npm

cat > fa2-entry.js <<'JS'
// The synchronous ForceAtlas2 API, with the pieces needed to iterate without rebuilding matrices.
var forceAtlas2 = require("graphology-layout-forceatlas2");
var helpers = require("graphology-layout-forceatlas2/helpers.js");
window.ForceAtlas2 = {
  assign: forceAtlas2.assign,
  inferSettings: forceAtlas2.inferSettings,
  defaults: require("graphology-layout-forceatlas2/defaults.js"),
  iterate: require("graphology-layout-forceatlas2/iterate.js"),
  graphToByteArrays: helpers.graphToByteArrays,
  assignLayoutChanges: helpers.assignLayoutChanges,
};
JS
npx esbuild fa2-entry.js --bundle --minify --format=iife --legal-comments=none --outfile=forceatlas2.min.js >/dev/null

mkdir -p "$vendor"
cp node_modules/sigma/dist/sigma.min.js "$vendor/sigma.min.js"
cp node_modules/graphology/dist/graphology.umd.min.js "$vendor/graphology.umd.min.js"
cp forceatlas2.min.js "$vendor/forceatlas2.min.js"
cp node_modules/sigma/LICENSE.txt "$vendor/LICENSE-sigma.txt"
cp node_modules/graphology/LICENSE.txt "$vendor/LICENSE-graphology.txt"
cp node_modules/graphology-layout-forceatlas2/LICENSE.txt "$vendor/LICENSE-graphology-layout-forceatlas2.txt"
cp node_modules/graphology-utils/LICENSE.txt "$vendor/LICENSE-graphology-utils.txt"

node - "$vendor" <<'JS'
// VERSIONS.json: what each vendored file is, from the installed packages and the lockfile.
const fs = require("fs");
const crypto = require("crypto");
const vendor = process.argv[2];
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
const pkg = (name) => {
  const entry = lock[`node_modules/${name}`];
  return { name, version: entry.version, integrity: entry.integrity, license: entry.license };
};
const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(`${vendor}/${file}`)).digest("hex");
const files = [
  { file: "sigma.min.js", from: "dist/sigma.min.js", packages: [pkg("sigma")] },
  { file: "graphology.umd.min.js", from: "dist/graphology.umd.min.js", packages: [pkg("graphology")] },
  {
    file: "forceatlas2.min.js",
    from: "bundled by esbuild from index.js, helpers.js, iterate.js, defaults.js",
    packages: [pkg("graphology-layout-forceatlas2"), pkg("graphology-utils")],
    bundler: pkg("esbuild"),
  },
].map((f) => ({ ...f, sha256: sha256(f.file) }));
fs.writeFileSync(`${vendor}/VERSIONS.json`, JSON.stringify({ files }, null, 2) + "\n");
JS
echo "refreshed $vendor:"
ls -l "$vendor"
