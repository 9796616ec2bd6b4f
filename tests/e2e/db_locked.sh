# A database locked for longer than the wait (SCALELAB_LOCK_WAIT_S, default 120 s)
# is a resource problem, not bad input (issue 15): exit 4, one line naming the
# file and the wait, nothing written. Once the lock goes, the same command works.
# A bad SCALELAB_LOCK_WAIT_S is refused with exit 2.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
tiny_run_toml 5120 > run.toml
tiny_run_toml 10240 > run2.toml
expect_exit 0 "$SCALELAB" train run.toml --db d.db --threads 1 --quiet
# Another connection holds the write lock (BEGIN IMMEDIATE) until its stdin closes.
mkfifo hold
command sqlite3 d.db < hold > holder.log 2>&1 &
holder=$!
exec 3>hold
echo "BEGIN IMMEDIATE; SELECT 'locked';" >&3
for _ in $(seq 50); do grep -q locked holder.log && break; sleep 0.1; done
grep -q locked holder.log || fail "the sqlite3 shell did not take the lock: $(cat holder.log)"
cp d.db before.db
start=$(date +%s)
SCALELAB_LOCK_WAIT_S=3 expect_exit 4 "$SCALELAB" train run2.toml --db d.db --threads 1 --quiet
took=$(( $(date +%s) - start ))
[ "$(echo "$ERR" | wc -l)" = 1 ] || fail "want one line on stderr, got: $ERR"
expect_contains "$ERR" "d.db: the database stayed locked for over 3 s"
[ "$took" -lt 30 ] || fail "the 3 s wait took ${took} s"
# The status and runs commands only read: WAL lets them through beside the writer.
SCALELAB_LOCK_WAIT_S=3 expect_exit 0 "$SCALELAB" runs --db d.db
SCALELAB_LOCK_WAIT_S=abc expect_exit 2 "$SCALELAB" runs --db d.db
expect_contains "$ERR" "SCALELAB_LOCK_WAIT_S: expected whole seconds from 1 to 86400, got 'abc'"
exec 3>&-
wait "$holder"
[ "$(command sqlite3 d.db "SELECT count(*) FROM runs")" = 1 ] || fail "a run row was written under the lock"
cmp -s <(command sqlite3 d.db .dump) <(command sqlite3 before.db .dump) || fail "the locked database changed"
expect_exit 0 "$SCALELAB" train run2.toml --db d.db --threads 1 --quiet
[ "$(command sqlite3 d.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 2 ] || fail "the retry did not train"
