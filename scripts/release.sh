#!/usr/bin/env bash
# Tags a release and moves its major version tag, as users pin `uses: your-org/ami-pipeline@v1`.
#   scripts/release.sh v1.2.0
# Refuses to tag unless the tree is clean, on main, and dist/ matches src/.
set -euo pipefail
version="${1:-}"
if [[ ! "$version" =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]]; then
  echo "usage: scripts/release.sh vMAJOR.MINOR.PATCH (for example v1.2.0)" >&2
  exit 2
fi
major="v${BASH_REMATCH[1]}"
cd "$(dirname "$0")/.."

[ -z "$(git status --porcelain)" ] || { echo "error: the work tree has uncommitted changes" >&2; exit 1; }
[ "$(git rev-parse --abbrev-ref HEAD)" = main ] || { echo "error: release from main" >&2; exit 1; }
git rev-parse -q --verify "refs/tags/$version" >/dev/null && { echo "error: $version exists already" >&2; exit 1; }
grep -q "^## \[${version#v}\]" CHANGELOG.md || { echo "error: CHANGELOG.md has no section for ${version#v}" >&2; exit 1; }

npm run bundle >/dev/null
git diff --quiet -- dist || { echo "error: dist/ does not match src/: run npm run bundle and commit" >&2; exit 1; }

git tag -a "$version" -m "AMI Pipeline $version"
git tag -fa "$major" -m "AMI Pipeline $version" "$version^{}"
echo "Tagged $version and moved $major to it. Publish with:"
echo "  git push origin $version && git push --force origin $major"
