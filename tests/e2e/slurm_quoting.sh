# Every value interpolated into a batch script is quoted: a sweep name and a
# directory holding spaces, quotes, $() and ; train normally and run nothing else.
source "$(dirname "$0")/lib.sh" "$@"
source "$SRC/tests/e2e/slurm_common.bash"
need_slurm
nasty="it's \"q\" \$(touch $WORK/pwned) ; touch $WORK/pwned2 \`touch $WORK/pwned3\`"
dir="$WORK/dir with 'quotes' \"and\" \$(touch $WORK/pwned4); x"
mkdir -p "$dir"
chmod 755 "$dir"
cd "$dir"
make_corpus corpus.txt
write_tiny_config sweep.toml "$nasty"
comment="it's \$(touch $WORK/pwned5); x"
# A cluster whose MaxArraySize is 2: the 3 runs go out as two arrays.
mkdir "$WORK/shim"
cat > "$WORK/shim/scontrol" <<SH
#!/bin/bash
if [ "\$*" = "show config" ]; then
  $(command -v scontrol) show config | sed 's/^MaxArraySize *=.*/MaxArraySize            = 2/'
else
  exec $(command -v scontrol) "\$@"
fi
SH
chmod +x "$WORK/shim/scontrol"
PATH="$WORK/shim:$PATH" expect_exit 0 "$SCALELAB" sweep sweep.toml --db "$dir/s.db" --backend slurm --threads-per-job 1 --partition debug \
  "--sbatch-arg=--comment=$comment" --sbatch-arg=--nice=0
echo "$OUT"
expect_contains "$OUT" "3/3 done"
for f in pwned pwned2 pwned3 pwned4 pwned5; do [ ! -e "$WORK/$f" ] || fail "a quoted value was executed ($f exists)"; done
[ "$(sqlite3 s.db "SELECT name FROM sweeps")" = "$nasty" ] || fail "sweep name mangled: $(sqlite3 s.db 'SELECT name FROM sweeps')"
sqlite3 s.db "SELECT name FROM runs" | while read -r n; do
  case "$n" in "$nasty"*) ;; *) fail "run name does not carry the sweep name: $n" ;; esac
done
[ "$(sqlite3 s.db "SELECT count(*) FROM runs WHERE status = 'done'")" = 3 ] || fail "not all runs done"
script=$(ls "$dir"/runs/slurm/*/*/part0.sh)
[ "$(sqlite3 s.db "SELECT count(DISTINCT substr(job_id, 1, instr(job_id, '_'))) FROM cluster_jobs")" = 2 ] ||
  fail "3 runs with MaxArraySize 2 should make 2 arrays: $(sqlite3 s.db 'SELECT job_id FROM cluster_jobs')"
[ "$(wc -l < "$(dirname "$script")/part1.runs")" = 1 ] || fail "the second array should hold 1 run"
grep -qF -- "'--array=0-1'" "$script" || fail "the first array is not 0-1: $(grep sbatch "$script")"
bash -n "$script" || fail "the script does not parse"
grep -qF "runs_dir='$WORK/dir with '\\''quotes'\\'' \"and\" \$(touch $WORK/pwned4); x/runs'" "$script" ||
  fail "runs_dir is not single-quoted: $(grep runs_dir= "$script")"
# Site options reach sbatch as single arguments, after scalelab's own.
job=$(sqlite3 s.db "SELECT job_id FROM cluster_jobs LIMIT 1")
scontrol -o show job "$job" | grep -qF "Comment=$comment" || fail "--sbatch-arg did not reach sbatch: $(scontrol -o show job "$job")"
grep -qF "'--partition=debug'" "$script" || fail "no --partition in the sbatch line"
expect_exit 0 "$SCALELAB" status --db "$dir/s.db"
echo "quoting: 3 runs in 2 arrays (MaxArraySize 2) done under a hostile sweep name, directory and sbatch option"
