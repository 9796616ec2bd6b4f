# Helpers for end-to-end tests. Usage in a test script:
#   source "$(dirname "$0")/lib.sh" "$@"
# gives $SCALELAB (the binary), $SRC (source dir), $WORK (a fresh temp dir, cwd),
# and the checks below. A failed check prints why and exits 1.
set -euo pipefail
SCALELAB=$(realpath "$1")
SRC=$(realpath "$2")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/scalelab-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_exit CODE CMD... : runs CMD, checks its exit code, leaves stdout in $OUT and stderr in $ERR.
expect_exit() {
  local want=$1; shift
  set +e
  "$@" >"$WORK/.out" 2>"$WORK/.err"
  local got=$?
  set -e
  OUT=$(cat "$WORK/.out"); ERR=$(cat "$WORK/.err")
  [ "$got" = "$want" ] || fail "'$*' exited $got, want $want; stderr: $ERR"
}

# expect_contains HAYSTACK NEEDLE [what]
expect_contains() {
  case "$1" in *"$2"*) ;; *) fail "${3:-output} does not contain '$2': $1" ;; esac
}

# A small text corpus for tests: the first chapters of KJV when bible-kjv is
# installed, else the project's README and docs (real English either way).
make_corpus() {
  local out=$1
  if command -v bible >/dev/null 2>&1; then
    "$SCALELAB" data kjv --out "$out" >/dev/null
  else
    cat "$SRC"/README.md "$SRC"/docs/*.md > "$out"
  fi
}
