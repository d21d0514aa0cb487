#!/usr/bin/env bash
# Cuts a release: tags the version package.json names and moves its major version tag, as users
# pin `uses: your-org/ami-pipeline@v1`.
#   scripts/release.sh           tag the version in package.json (for example v1.2.0)
#   scripts/release.sh --check   only check that package.json and CHANGELOG.md agree
# Refuses unless package.json's version has a dated CHANGELOG section and a compare link, the tree
# is clean and on main, the tag is new, and dist/ matches src/.
set -euo pipefail
cd "$(dirname "$0")/.."
check_only=false
[ "${1:-}" = --check ] && check_only=true

version="$(node -p 'require("./package.json").version')"
if [[ ! "$version" =~ ^([0-9]+)\.[0-9]+\.[0-9]+$ ]]; then
  echo "error: package.json's version '$version' is not MAJOR.MINOR.PATCH" >&2
  exit 1
fi
tag="v$version"
major="v${BASH_REMATCH[1]}"

# Keep a Changelog: "## [1.2.0] - 2026-12-02", and a link "[1.2.0]: https://…/compare/v1.1.0...v1.2.0"
# (or …/releases/tag/v1.0.0 for the first).
grep -Eq "^## \[${version//./\\.}\] - [0-9]{4}-[0-9]{2}-[0-9]{2}$" CHANGELOG.md ||
  { echo "error: CHANGELOG.md has no dated section '## [$version] - YYYY-MM-DD'" >&2; exit 1; }
grep -Eq "^\[${version//./\\.}\]: https://" CHANGELOG.md ||
  { echo "error: CHANGELOG.md has no link for [$version]" >&2; exit 1; }

if $check_only; then
  echo "package.json and CHANGELOG.md agree on $version (tag $tag, major $major)."
  exit 0
fi

[ -z "$(git status --porcelain)" ] || { echo "error: the work tree has uncommitted changes" >&2; exit 1; }
[ "$(git rev-parse --abbrev-ref HEAD)" = main ] || { echo "error: release from main" >&2; exit 1; }
git rev-parse -q --verify "refs/tags/$tag" >/dev/null && { echo "error: $tag exists already" >&2; exit 1; }

npm run bundle >/dev/null
# New files count too (a bundle chunk added): untracked files under dist/ are a mismatch.
if ! git diff --quiet -- dist || [ -n "$(git ls-files --others --exclude-standard -- dist)" ]; then
  echo "error: dist/ does not match src/: run npm run bundle and commit" >&2
  exit 1
fi

git tag -a "$tag" -m "AMI Pipeline $tag"
git tag -fa "$major" -m "AMI Pipeline $tag" "$tag^{}"
echo "Tagged $tag and moved $major to it. Publish with:"
echo "  git push origin $tag && git push --force origin $major"
echo "then draft the GitHub release from $tag with its CHANGELOG section (and publish it to the Marketplace)."
