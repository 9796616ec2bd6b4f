# kill -9 in the middle of a ladder: the orchestrator dies while the trunk is
# past a fork and a branch is training; a restarted `scalelab sweep` finishes the
# ladder, and every run's curve equals that of a ladder trained without the kill.
source "$(dirname "$0")/lib.sh" "$@"
make_corpus corpus.txt
tiny_ladder_toml 2 "[25600, 102400, 204800]" > lad.toml
expect_exit 0 "$SCALELAB" sweep lad.toml --db calm.db --runs-dir calm --jobs 2 --threads-per-job 1 --quiet
expect_contains "$OUT" "4/4 done"

setsid "$SCALELAB" sweep lad.toml --db k.db --runs-dir kruns --jobs 2 --threads-per-job 1 > first.out 2>&1 &
orch=$!
trap 'kill -9 $orch 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Kill once a branch trains beside the trunk.
for _ in $(seq 1200); do
  busy=$(sqlite3 k.db "SELECT count(*) FROM runs WHERE parent_id IS NOT NULL AND status = 'running'" 2>/dev/null || echo 0)
  [ "${busy:-0}" -ge 1 ] && break
  sleep 0.1
done
[ "${busy:-0}" -ge 1 ] || fail "no branch ever started beside the trunk: $(cat first.out)"
kill -9 $orch
set +e; wait $orch 2>/dev/null; rc=$?; set -e
[ "$rc" = 137 ] || fail "the orchestrator exited $rc before the kill -9 reached it: $(cat first.out)"
for _ in $(seq 300); do
  pgrep -f "train --run .* --db $WORK/k.db" > /dev/null || break
  sleep 0.1
done
expect_exit 0 "$SCALELAB" sweep lad.toml --db k.db --runs-dir kruns --jobs 2 --threads-per-job 1 --quiet
expect_contains "$OUT" "4/4 done"
q="SELECT r.name, m.split, m.step, printf('%.17g %.17g %.17g', m.loss, m.lr, m.grad_norm)
   FROM metrics m JOIN runs r ON r.id = m.run_id ORDER BY r.name, m.split, m.step"
sqlite3 calm.db "$q" > calm.txt
sqlite3 k.db "$q" > killed.txt
diff calm.txt killed.txt > /dev/null || { diff calm.txt killed.txt | head; fail "the killed ladder's curves differ"; }
echo "ladder_kill: killed with a branch training; the restart matches the calm ladder over $(wc -l < calm.txt) rows"
