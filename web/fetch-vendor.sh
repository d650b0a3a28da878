#!/usr/bin/env bash
# Re-fetch the vendored GraphiQL assets in web/vendor/ from the npm registry.
#
# Exactly the versions strawberry's built-in GraphiQL page loads from unpkg, each tarball checked against
# the sha512 integrity the registry publishes (`npm view <pkg>@<version> dist.integrity`, pinned below),
# and only the files web/graphiql.html needs, plus each package's LICENSE. To bump a package, change its
# version and integrity here, run this script, and update web/graphiql.html and web/vendor/README.md.
#
# Needs bash, curl, GNU tar and coreutils (sha512sum, basenc, base64). NPM_REGISTRY overrides the registry (a mirror, say).
set -euo pipefail
shopt -s inherit_errexit # a failed curl inside $(fetch …) stops the script, not a bogus integrity mismatch

REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"
REGISTRY="${REGISTRY%/}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENDOR="$HERE/vendor"

# package  version  integrity  files (paths inside the package, space-separated)
PACKAGES=(
  "react|18.2.0|sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==|LICENSE umd/react.production.min.js"
  "react-dom|18.2.0|sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==|LICENSE umd/react-dom.production.min.js"
  "graphiql|3.8.3|sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==|LICENSE graphiql.min.js graphiql.min.css"
  "@graphiql/plugin-explorer|1.0.2|sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==|dist/index.umd.js dist/style.css"
)
# @graphiql/plugin-explorer's tarball ships no LICENSE file. Its package.json says MIT and it lives in the
# graphql/graphiql monorepo, whose LICENSE is the one in the graphiql tarball; its UMD bundle also inlines
# graphiql-explorer (MIT, its own copyright), whose LICENSE we take from that package's tarball.
GRAPHIQL_EXPLORER="graphiql-explorer|0.9.0|sha512-fZC/wsuatqiQDO2otchxriFO0LaWIo/ovF/CQJ1yOudmY0P7pzDiP+l9CEHUiWbizk3e99x6DQG4XG1VxA+d6A==|LICENSE"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# fetch NAME VERSION INTEGRITY -> path of the verified tarball
fetch() {
  local name="$1" version="$2" integrity="$3"
  local base="${name##*/}"
  local url="$REGISTRY/$name/-/$base-$version.tgz"
  local tgz="$WORK/${name//\//+}-$version.tgz"
  curl --fail --silent --show-error --location --retry 3 --output "$tgz" "$url"
  local actual
  actual="sha512-$(sha512sum "$tgz" | cut -d' ' -f1 | tr a-f A-F | basenc --base16 -d | base64 -w0)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "integrity mismatch for $name@$version ($url)" >&2
    echo "  expected $integrity" >&2
    echo "  got      $actual" >&2
    exit 1
  fi
  echo "$tgz"
}

# extract TGZ DEST FILE... : the named package files into DEST, keeping their paths
extract() {
  local tgz="$1" dest="$2"
  shift 2
  local members=()
  local file
  for file in "$@"; do members+=("package/$file"); done
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" --strip-components=1 --no-same-owner "${members[@]}"
}

# Fetch and verify everything first, then build the new tree aside and swap it in, so a failure leaves
# web/vendor as it was and files of a previous version cannot linger.
declare -A TARBALL
for entry in "${PACKAGES[@]}" "$GRAPHIQL_EXPLORER"; do
  IFS='|' read -r name version integrity _ <<<"$entry"
  TARBALL[$name]="$(fetch "$name" "$version" "$integrity")"
done

NEW="$WORK/vendor"
mkdir -p "$NEW"
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version _ files <<<"$entry"
  read -r -a list <<<"$files"
  extract "${TARBALL[$name]}" "$NEW/$name@$version" "${list[@]}"
  echo "vendored $name@$version: $files"
done

explorer="$(find "$NEW/@graphiql" -mindepth 1 -maxdepth 1 -name 'plugin-explorer@*')"
tar -xzf "${TARBALL[graphiql]}" -O package/LICENSE >"$explorer/LICENSE"
tar -xzf "${TARBALL[graphiql-explorer]}" -O package/LICENSE >"$explorer/LICENSE.graphiql-explorer"
echo "licences for ${explorer#"$NEW/"}: LICENSE (graphql/graphiql) + LICENSE.graphiql-explorer"

mkdir -p "$VENDOR"
find "$VENDOR" -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
cp -R "$NEW/." "$VENDOR/"
du -sh "$VENDOR"
