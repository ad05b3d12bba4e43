#!/usr/bin/env bash
# The README's quick start where issue 16 broke it: as root, a fresh clone of the committed HEAD
# inside a directory only its owner may enter (mode 0700, what `mktemp -d` gives), then
# `npm ci` (from the npm cache when it can) and `npm run demo -- --json`; the demo's last JSON
# line must report `completed` with the oracle at zero (no record missing, stale or resurrected).
# The Temporal CLI comes from this checkout's cache (LICHEN_CACHE_DIR), installed earlier.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
chmod 700 "$dir"
t0=$SECONDS
git clone --quiet "$repo" "$dir/c"
cd "$dir/c"
npm ci --no-audit --no-fund --prefer-offline --loglevel=error
echo "   npm ci in the clone: $((SECONDS - t0)) s"
unset DATABASE_URL LICHEN_PG_BINARIES
export LICHEN_CACHE_DIR="${LICHEN_CACHE_DIR:-$repo/.cache}"
npm run --silent demo -- --json > "$dir/demo.out" 2> "$dir/demo.err" || {
  echo "npm run demo failed in $dir/c (as $(id -un), parent mode $(stat -c %a "$dir")):"
  tail -n 40 "$dir/demo.err"
  tail -n 5 "$dir/demo.out"
  exit 1
}
last="$(grep '^{' "$dir/demo.out" | tail -n 1)"
echo "   demo: $last"
node -e '
  const r = JSON.parse(process.argv[1]);
  const o = r.oracle;
  const ok = r.status === "completed" && o && o.missing === 0 && o.stale === 0 && o.resurrected === 0;
  if (!ok) { console.error("the demo in a private clone did not complete with the oracle at zero"); process.exit(1); }
' "$last"
echo "   private clone: quick start passed in $((SECONDS - t0)) s"
