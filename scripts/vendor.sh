#!/bin/sh
# Copy the front-end libraries the pages use from npm into registry/web/static/vendor (never a CDN):
# Leaflet, leaflet.markercluster and the French government design system (DSFR: its CSS, its JavaScript, the
# Marianne fonts, the icons its CSS refers to, its favicons). Versions: registry/web/static/vendor/package.json.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$here/registry/web/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack -q leaflet@1.9.4 leaflet.markercluster@1.5.3 @gouvfr/dsfr@1.15.3 >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done

mkdir -p "$vendor/leaflet" "$vendor/leaflet.markercluster"
cp -r leaflet-1.9.4/package/dist/leaflet.js leaflet-1.9.4/package/dist/leaflet.css \
  leaflet-1.9.4/package/dist/images leaflet-1.9.4/package/LICENSE "$vendor/leaflet/"
cp leaflet.markercluster-1.5.3/package/dist/leaflet.markercluster.js \
  leaflet.markercluster-1.5.3/package/dist/MarkerCluster*.css \
  leaflet.markercluster-1.5.3/package/MIT-LICENCE.txt "$vendor/leaflet.markercluster/"

dist=gouvfr-dsfr-1.15.3/package/dist
rm -rf "$vendor/dsfr"
mkdir -p "$vendor/dsfr/fonts" "$vendor/dsfr/favicon"
# Only the DSFR's parts the pages use, in the order of their documented dependencies (core first): one stylesheet
# and one script instead of the whole system (94 KB of CSS and 30 KB of JavaScript compressed). A class of a
# page missing from them fails tests/test_pages.py. Modern browsers only: the "main" CSS (no legacy), the module JS.
components="link button logo form navigation modal input header footer breadcrumb alert badge tag table select pagination
  checkbox skiplink"
icons="map system business"
{
  cat "$dist/core/core.main.min.css"
  for c in $components; do cat "$dist/component/$c/$c.main.min.css"; done
  for i in $icons; do cat "$dist/utility/icons/icons-$i/icons-$i.main.min.css"; done
} | sed -E 's#url\((\.\./)+(fonts|icons)/#url(\2/#g' > "$vendor/dsfr/dsfr.registre.min.css"
{
  # Each file is a script of its own (same top-level names): a block each keeps them apart in one module.
  for js in core/core $(for c in navigation modal header breadcrumb table; do echo "component/$c/$c"; done); do
    printf '{\n'; cat "$dist/$js.module.min.js"; printf '\n}\n'
  done
} > "$vendor/dsfr/dsfr.registre.module.min.js"
cp "$dist"/fonts/*.woff2 "$vendor/dsfr/fonts/"  # every browser the DSFR supports reads woff2
cp "$dist"/favicon/* "$vendor/dsfr/favicon/"
cp gouvfr-dsfr-1.15.3/package/LICENSE.md "$vendor/dsfr/" 2>/dev/null || true
# Only the icons the stylesheet refers to (the package holds 4 MB of them).
grep -o 'url(icons/[^)]*)' "$vendor/dsfr/dsfr.registre.min.css" | sed 's/^url(//; s/)$//' | sort -u | while read -r icon; do
  mkdir -p "$vendor/dsfr/$(dirname "$icon")"
  cp "$dist/$icon" "$vendor/dsfr/$icon"
done
echo "vendor : Leaflet 1.9.4, leaflet.markercluster 1.5.3, DSFR 1.15.3 copiés dans $vendor"
