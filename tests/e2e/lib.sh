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

# The sqlite3 shell waits for no lock unless told; workers may be writing.
sqlite3() { command sqlite3 -cmd '.timeout 10000' "$@"; }

# A one-layer run of TOKENS tokens on corpus.txt: a second or so on one thread.
tiny_run_toml() {  # TOKENS
  printf '[data]\npath = "corpus.txt"\n[model]\nn_layer = 1\nd_model = 16\nn_head = 2\nseq_len = 32\n'
  printf '[train]\ntokens = %s\nbatch_tokens = 512\n' "$1"
}

# The data, model and batch layout shared by the tiny sweep configs of the e2e
# tests: runs of a few seconds on one thread. Ends inside [train], so a test can
# append more [train] keys and then its own tables.
tiny_model_toml() {
  cat <<'TOML'
[data]
path = "corpus.txt"
[model]
seq_len = 32
head_dim = 16
aspect_ratio = 16
[train]
batch_tokens = 256
micro_batch = 8
TOML
}

# A tiny ladder sweep named "lad" (docs/ladders.md): one shape with N_LAYER layers
# of width 32, WSD branches cooling down over their last 25%, at the D values given.
tiny_ladder_toml() {  # N_LAYER TOKENS (a TOML list, e.g. "[12800, 25600]")
  cat <<TOML
name = "lad"
mode = "ladder"
[data]
path = "corpus.txt"
[model]
n_layer = $1
d_model = 32
n_head = 2
seq_len = 32
[train]
batch_tokens = 256
micro_batch = 8
schedule = "wsd"
decay_fraction = 0.25
[eval]
every = 10
batches = 2
log_every = 1
[checkpoint]
every = 25
[axes]
tokens = $2
TOML
}
