# The bad-input corpus (issue 15): every case exits with its code and one line on
# stderr holding its message, and writes nothing: the pre-existing database is
# byte-identical afterwards and no file appears anywhere under the work directory.
# Cases: NAME | EXIT | MESSAGE FRAGMENT | COMMAND (run with eval; $S is scalelab).
source "$(dirname "$0")/lib.sh" "$@"
S=$SCALELAB
make_corpus corpus.txt
printf '' > empty.txt
printf 'hello' > short.txt
run_toml() {  # NAME [key=value overrides as sed expressions...]
  local name=$1; shift
  cat > "$name.toml" <<TOML
name = "$name"
[data]
path = "corpus.txt"
[model]
n_layer = 1
d_model = 32
n_head = 2
seq_len = 32
[train]
tokens = 5120
batch_tokens = 256
micro_batch = 8
TOML
  for e in "$@"; do sed -i "$e" "$name.toml"; done
}
run_toml ok
run_toml empty 's|corpus.txt|empty.txt|'
run_toml short 's|corpus.txt|short.txt|'
run_toml longseq 's|seq_len = 32|seq_len = 100000|; s|batch_tokens = 256|batch_tokens = 100000|; s|tokens = 5120|tokens = 1e6|'
run_toml wide 's|d_model = 32|d_model = 1000000000|'
run_toml deep 's|n_layer = 1|n_layer = 100000|'
run_toml tok22 's|tokens = 5120|tokens = 1e22|'
run_toml tok300 's|tokens = 5120|tokens = 1e300|'
run_toml nl 's|^name = "nl"|name = "a\\nb"|'
run_toml esc 's|^name = "esc"|name = "a\\u001b[31mb"|'
run_toml nul 's|^name = "nul"|name = "a\\u0000b"|'
run_toml heads 's|n_head = 2|n_head = 3|'
run_toml batch 's|batch_tokens = 256|batch_tokens = 100|'
run_toml unknown 's|^\[train\]|[train]\nlearning_rate = 1|'
run_toml negtok 's|tokens = 5120|tokens = -5|'
run_toml nantok 's|tokens = 5120|tokens = nan|'
run_toml badsched 's|^\[train\]|[train]\nschedule = "linear"|'
printf 'name = "x"\n[data\n' > syntax.toml
printf 'name = "sw"\n[data]\npath = "corpus.txt"\n[model]\nseq_len = 32\n[train]\nbatch_tokens = 256\n[axes]\nparams = [1e3]\ntokens = [5120]\n[filters]\nmax_epochs = 0\n' > epochs0.toml
printf 'name = "sw"\n[data]\npath = "corpus.txt"\n[model]\nseq_len = 32\n[train]\nbatch_tokens = 256\n[axes]\nparams = [1e15]\ntokens = [5120]\n' > bigaxis.toml
printf 'name = "a\\u001bb"\n[data]\npath = "corpus.txt"\n[model]\nseq_len = 32\n[train]\nbatch_tokens = 256\n[axes]\nparams = [1e3]\ntokens = [5120]\n' > escsweep.toml
printf 'N,C,loss\n1e6,1e15,3.1\n' > few.csv
printf 'N,C\n1e6,1e15\n' > nocol.csv
sqlite3 foreign.db "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');"

# The database every case must leave alone: one finished run in it.
expect_exit 0 "$S" train ok.toml --db ref.db --runs-dir runs --threads 1 --quiet
mkdir -p keep && cp ok.toml keep/
before_db=$(md5sum ref.db foreign.db)
snapshot() { find . -path ./.out -prune -o -path ./.err -prune -o -print | LC_ALL=C sort; }
before_files=$(snapshot)

n=0
while IFS='|' read -r name code msg cmd; do
  name=$(echo "$name" | xargs); code=$(echo "$code" | xargs)
  [ -z "$name" ] && continue
  case "$name" in \#*) continue ;; esac
  msg=$(printf '%s' "$msg" | sed 's/^ *//; s/ *$//')
  set +e
  eval "$cmd" > .out 2> .err
  got=$?
  set -e
  [ "$got" = "$code" ] || fail "$name: exit $got, want $code: $(cat .err)"
  [ "$(wc -l < .err)" = 1 ] || fail "$name: want one line on stderr, got: $(cat .err)"
  grep -qF -- "$msg" .err || fail "$name: stderr lacks '$msg': $(cat .err)"
  [ "$(md5sum ref.db foreign.db)" = "$before_db" ] || fail "$name: a database changed"
  [ "$(snapshot)" = "$before_files" ] || fail "$name: files appeared: $(diff <(echo "$before_files") <(snapshot) | grep '^>' | head -3)"
  n=$((n + 1))
done <<'CASES'
# data that cannot hold one sequence, caught before anything is registered
empty data      | 2 | the train split has 0 tokens; need at least seq_len+1 = 33 | $S train empty.toml --db ref.db --runs-dir runs
short data      | 2 | the train split has 5 tokens                               | $S train short.toml --db ref.db --runs-dir runs
seq_len > corpus| 2 | split has                                                  | $S train longseq.toml --db ref.db --runs-dir runs
missing gpu     | 2 | --device cuda:7:                                           | $S train ok.toml --db ref.db --runs-dir runs --device cuda:7
bad device      | 2 | --device: expected cpu, cuda or cuda:N                     | $S train ok.toml --db ref.db --runs-dir runs --device tpu
# absurd sizes and budgets
d_model 1e9     | 2 | model.d_model: L1-D1000000000-H2-T32                       | $S train wide.toml --db ref.db --runs-dir runs
n_layer 1e5     | 2 | needs about                                                | $S train deep.toml --db ref.db --runs-dir runs
tokens 1e22     | 2 | train.tokens: 1e+22 tokens at 256 per step                 | $S train tok22.toml --db ref.db --runs-dir runs
tokens 1e300    | 2 | optimizer steps; at most 1e+10 are supported               | $S train tok300.toml --db ref.db --runs-dir runs
tokens -5       | 2 | train.tokens                                               | $S train negtok.toml --db ref.db --runs-dir runs
tokens nan      | 2 | train.tokens                                               | $S train nantok.toml --db ref.db --runs-dir runs
sweep params 1e15| 2 | bigaxis.toml                                              | $S sweep bigaxis.toml --db ref.db --runs-dir runs
# names that would break tables or terminals
name newline    | 2 | name: contains the control character 0x0a                  | $S train nl.toml --db ref.db --runs-dir runs
name escape     | 2 | name: contains the control character 0x1b                  | $S train esc.toml --db ref.db --runs-dir runs
name nul        | 2 | name: contains the control character 0x00                  | $S train nul.toml --db ref.db --runs-dir runs
sweep name esc  | 2 | name: contains the control character 0x1b                  | $S sweep escsweep.toml --db ref.db --runs-dir runs
# config shape and syntax
heads           | 2 | must be divisible by n_head                                | $S train heads.toml --db ref.db --runs-dir runs
batch           | 2 | must be a multiple of model.seq_len                        | $S train batch.toml --db ref.db --runs-dir runs
unknown key     | 2 | learning_rate                                              | $S train unknown.toml --db ref.db --runs-dir runs
bad schedule    | 2 | train.schedule                                             | $S train badsched.toml --db ref.db --runs-dir runs
toml syntax     | 2 | syntax.toml                                                | $S train syntax.toml --db ref.db --runs-dir runs
missing config  | 2 | nope.toml                                                  | $S train nope.toml --db ref.db --runs-dir runs
max_epochs 0    | 2 | filters.max_epochs: expected a positive number             | $S sweep epochs0.toml --db ref.db --runs-dir runs
plan max_epochs | 2 | filters.max_epochs                                         | $S plan epochs0.toml --no-calibrate
# databases
foreign db      | 2 | foreign.db: not a scalelab database                        | $S runs --db foreign.db
foreign db train| 2 | foreign.db: not a scalelab database                        | $S train ok.toml --db foreign.db --runs-dir runs
empty db path   | 2 | --db: expected a database path, got an empty string        | $S train ok.toml --db '' --runs-dir runs
missing db runs | 2 | missing.db: no such database                               | $S runs --db missing.db
missing db curve| 2 | missing.db: no such database                               | $S curves abc --db missing.db
missing db stat | 2 | missing.db: no such database                               | $S status --db missing.db
missing db rep  | 2 | missing.db: no such database                               | $S report --db missing.db --out rep
unknown run     | 2 | no run                                                     | $S curves zzzz --db ref.db
unknown sweep   | 2 | no sweep                                                   | $S fit nosuch --db ref.db
# flags
stop-after 0    | 2 | --stop-after: expected a positive number, got '0'          | $S train ok.toml --db ref.db --runs-dir runs --stop-after 0
threads -1      | 2 | expected a non-negative number, got '-1'                   | $S train ok.toml --db ref.db --runs-dir runs --threads -1
jobs huge       | 2 | --jobs                                                     | $S sweep epochs0.toml --db ref.db --jobs 1e400
unknown flag    | 2 | --frobnicate                                               | $S runs --db ref.db --frobnicate
bad approach    | 2 | --approach takes 1, 2 and/or 3                             | $S fit --csv few.csv --n-col N --c-col C --loss-col loss --approach 4 --db ref.db
csv no column   | 2 | loss                                                       | $S fit --csv nocol.csv --n-col N --c-col C --loss-col loss --db ref.db
csv missing     | 2 | nofile.csv                                                 | $S fit --csv nofile.csv --n-col N --c-col C --loss-col loss --db ref.db
forecast no fit | 2 | no fits yet                                                | $S forecast --db ref.db --compute 1e21
forecast bad fit| 2 | --fit must be a fit id or 'latest'                         | $S forecast --db ref.db --fit x --compute 1e21
CASES
[ "$n" -ge 40 ] || fail "only $n cases ran"
echo "bad_inputs: ok ($n cases: each its exit code and one line; the databases byte-identical, no file written)"
