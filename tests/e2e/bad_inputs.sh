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
run_toml nhead0 's|n_head = 2|n_head = 0|'
run_toml dmodel0 's|d_model = 32|d_model = 0|'
run_toml nlayer0 's|n_layer = 1|n_layer = 0|'
run_toml seq0 's|seq_len = 32|seq_len = 0|'
run_toml vocab0 's|^\[model\]|[model]\nvocab = 0|'
run_toml vocabbig 's|^\[model\]|[model]\nvocab = 100000000000|'
run_toml bt0 's|batch_tokens = 256|batch_tokens = 0|'
run_toml mb0 's|micro_batch = 8|micro_batch = 0|'
run_toml lrneg 's|^\[train\]|[train]\nlr = -1e-3|'
run_toml lrinf 's|^\[train\]|[train]\nlr = inf|'
run_toml wdneg 's|^\[train\]|[train]\nweight_decay = -1|'
run_toml warm2 's|^\[train\]|[train]\nwarmup_fraction = 2|'
run_toml drop15 's|^\[model\]|[model]\ndropout = 1.5|'
run_toml decay2 's|^\[train\]|[train]\nschedule = "wsd"\ndecay_fraction = 2|'
run_toml tokstr 's|tokens = 5120|tokens = "lots"|'
run_toml tokarr 's|tokens = 5120|tokens = [5120]|'
run_toml dfloat 's|d_model = 32|d_model = 32.5|'
run_toml nlbool 's|n_layer = 1|n_layer = true|'
run_toml dupkey 's|n_layer = 1|n_layer = 1\nn_layer = 2|'
run_toml duptab 's|^\[train\]|[model]\nbias = false\n[train]|'
run_toml modelarr 's|^\[model\]|[[model]]|'
run_toml nodata 's|path = "corpus.txt"|path = "nofile.txt"|'
run_toml datadir 's|path = "corpus.txt"|path = "keep"|'
run_toml fmt 's|path = "corpus.txt"|path = "corpus.txt"\nformat = "parquet"|'
run_toml val0 's|path = "corpus.txt"|path = "corpus.txt"\nval_fraction = 0|'
run_toml val1 's|path = "corpus.txt"|path = "corpus.txt"\nval_fraction = 1|'
run_toml ckneg 's|micro_batch = 8|micro_batch = 8\n[checkpoint]\nevery = -1|'
run_toml ev0 's|micro_batch = 8|micro_batch = 8\n[eval]\nevery = 0|'
run_toml nameint 's|^name = "nameint"|name = 5|'
run_toml unktab 's|^\[train\]|[frob]\nx = 1\n[train]|'
run_toml longer 's|tokens = 5120|tokens = 10240|'
: > emptyconf.toml
printf '\377\376garbage\001\002' > garbage.toml
sweep_toml() {  # NAME [sed expressions...]: a tiny grid sweep, then the overrides
  printf 'name = "sw"\n[data]\npath = "corpus.txt"\n[model]\nseq_len = 32\n[train]\nbatch_tokens = 256\n[axes]\nparams = [1e3, 2e3]\ntokens = [5120]\n' > "$1.toml"
  local name=$1; shift
  for e in "$@"; do sed -i "$e" "$name.toml"; done
}
sweep_toml oksweep
sweep_toml axempty 's|params = \[1e3, 2e3\]|params = []|'
sweep_toml axunk 's|^\[axes\]|[axes]\nfoo = [1]|'
sweep_toml axneg 's|params = \[1e3, 2e3\]|params = [-1e3]|'
sweep_toml axtok0 's|tokens = \[5120\]|tokens = [0]|'
sweep_toml badmode 's|^name = "sw"|name = "sw"\nmode = "foo"|'
sweep_toml isonocomp 's|^name = "sw"|name = "sw"\nmode = "isoflop"|'
sweep_toml tpp 's|^\[axes\]|[filters]\nmin_tokens_per_param = 100\nmax_tokens_per_param = 10\n[axes]|'
sweep_toml lrboth 's|^\[axes\]|[lr_rule]\nc = 0.1\nk = 0.3\n[axes]\nlr = [1e-3]|'
sweep_toml seedneg 's|^\[axes\]|[axes]\nseed = [-1]|'
sweep_toml compneg 's|tokens = \[5120\]|compute = [-1e12]|'
sweep_toml lrstr 's|^\[axes\]|[axes]\nlr = ["a"]|'
sweep_toml extmiss 's|^name = "sw"|extends = "nope.toml"\nname = "sw"|'
sweep_toml filtall 's|^\[axes\]|[filters]\nmin_tokens_per_param = 1e9\n[axes]|'
sweep_toml shapeaxis 's|params = \[1e3, 2e3\]|d_model = [32]\nparams = [1e3]|'
sweep_toml rulemissing 's|^\[axes\]|[lr_rule]\nfit = 999\n[axes]|'
sweep_toml rulenotlr 's|^\[axes\]|[lr_rule]\nfit = 1\n[axes]|'
sweep_toml ruleboth 's|^\[axes\]|[lr_rule]\nfit = 1\nc = 0.1\n[axes]|'
sweep_toml rule0 's|^\[axes\]|[lr_rule]\nfit = 0\n[axes]|'
run_toml mupunk 's|^seq_len = 32|seq_len = 32\nparametrization = "ntk"|'
run_toml mupnobase 's|^seq_len = 32|seq_len = 32\nparametrization = "mup"|'
run_toml mupwide 's|^seq_len = 32|seq_len = 32\nparametrization = "mup"\nmup_base_width = 64|'
run_toml mupsp 's|^seq_len = 32|seq_len = 32\nmup_base_width = 32|'
run_toml mup0 's|^seq_len = 32|seq_len = 32\nparametrization = "mup"\nmup_base_width = 0|'
sweep_toml mupsweep 's|^seq_len = 32|seq_len = 32\nn_layer = 1\nn_head = 2\nparametrization = "mup"\nmup_base_width = 64|; s|params = \[1e3, 2e3\]|d_model = [32, 64, 128]|'
sweep_toml peakneg 's|^\[axes\]|[execution]\npeak_tflops = -1\n[axes]|'
sweep_toml fracbig 's|^\[axes\]|[execution]\ngpu_memory_fraction = 1.5\n[axes]|'
sweep_toml frac0 's|^\[axes\]|[execution]\ngpu_memory_fraction = 0\n[axes]|'
sweep_toml graphsstr 's|^\[axes\]|[execution]\ncuda_graphs = "yes"\n[axes]|'
sweep_toml graphscpu 's|^\[axes\]|[execution]\ncuda_graphs = true\n[axes]|'
printf 'extends = "cyc2.toml"\nname = "a"\n' > cyc1.toml
printf 'extends = "cyc1.toml"\n' > cyc2.toml
printf 'N,C,loss\n' > hdr.csv
: > empty.csv
printf 'N,C,loss\n1e6,1e15,nan\n2e6,2e15,3\n' > nan.csv
printf 'N,C,loss\n-1e6,1e15,3.1\n2e6,2e15,3\n' > neg.csv
printf 'N,C,loss\n1e6,1e15,abc\n2e6,2e15,3\n' > txt.csv
printf 'N,C,loss\n1e6,1e15,3.1,9\n2e6,2e15,3\n' > ragged.csv
printf 'N,C,loss\n1e6,inf,3.1\n2e6,2e15,3\n' > inf.csv
printf 'N,N,loss\n1e6,1e15,3.1\n' > dupcol.csv
printf 'N,C,loss\n1e6,1e15,3.1\n2e6,2e15,3\n4e6,4e15,2.9\n' > three.csv
cp "$SRC/tests/data/svg_extracted_data.csv" epoch.csv
printf 'not a database, just text\n' > text.db
: > zero.db
mkdir -p dir.db
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
head -c 2048 ref.db > trunc.db
cp ref.db future.db && sqlite3 future.db "PRAGMA user_version = 999"
cp ref.db fits.db
expect_exit 0 "$S" fit --csv epoch.csv --n-col 'Model Size' --c-col 'Training FLOP' --loss-col loss --db fits.db --bootstrap 0
# Bits per byte (issue 18): a sweep whose run has no bytes per token (as one
# registered before schema v7), and a tokens directory with a malformed meta.json.
cp ref.db nobpb.db
sqlite3 nobpb.db "INSERT INTO sweeps (id, name, config_toml, created_at) VALUES ('0000aaaa0000aaaa', 'old', '', '2026-01-01T00:00:00Z');
                  UPDATE runs SET sweep_id = '0000aaaa0000aaaa', tokenizer = NULL, bytes_per_token = NULL, train_bytes_per_token = NULL"
mkdir -p badtok && head -c 65536 /dev/zero > badtok/train.bin && head -c 2048 /dev/zero > badtok/val.bin
printf '{"format": "scalelab-tokens-1", "dtype": "uint16"}\n' > badtok/meta.json
run_toml badmeta 's|^path = "corpus.txt"|kind = "tokens"\npath = "badtok"|'
sweep_toml badmetasweep 's|^path = "corpus.txt"|kind = "tokens"\npath = "badtok"|'
dbs="ref.db fits.db foreign.db trunc.db future.db text.db zero.db nobpb.db"
before_db=$(md5sum $dbs)
snapshot() { find . -path ./.out -prune -o -path ./.err -prune -o -print | LC_ALL=C sort; }
before_files=$(snapshot)

# A fit of Epoch's Chinchilla points, quick (no bootstrap), for the flag cases.
E() { "$S" fit --csv epoch.csv --n-col 'Model Size' --c-col 'Training FLOP' --loss-col loss --db ref.db "$@"; }
n=0
while IFS='|' read -r name code msg cmd; do
  case "$name" in \#* | "") continue ;; esac
  name=$(echo "$name" | xargs); code=$(echo "$code" | xargs)
  msg=$(printf '%s' "$msg" | sed 's/^ *//; s/ *$//')
  set +e
  eval "$cmd" > .out 2> .err
  got=$?
  set -e
  [ "$got" = "$code" ] || fail "$name: exit $got, want $code: $(cat .err)"
  [ "$(wc -l < .err)" = 1 ] || fail "$name: want one line on stderr, got: $(cat .err)"
  grep -qF -- "$msg" .err || fail "$name: stderr lacks '$msg': $(cat .err)"
  [ "$(md5sum $dbs)" = "$before_db" ] || fail "$name: a database changed"
  [ "$(snapshot)" = "$before_files" ] || fail "$name: files appeared: $(diff <(echo "$before_files") <(snapshot) | grep '^>' | head -3)"
  n=$((n + 1))
done <<'CASES'
# data that cannot hold one sequence, caught before anything is registered
empty data      | 2 | the train split has 0 tokens; need at least seq_len+1 = 33 | $S train empty.toml --db ref.db --runs-dir runs
short data      | 2 | the train split has 5 tokens                               | $S train short.toml --db ref.db --runs-dir runs
seq_len > corpus| 2 | split has                                                  | $S train longseq.toml --db ref.db --runs-dir runs
missing gpu     | 2 | --device cuda:7:                                           | $S train ok.toml --db ref.db --runs-dir runs --device cuda:7
bad device      | 2 | --device: expected cpu, cuda or cuda:N                     | $S train ok.toml --db ref.db --runs-dir runs --device tpu
# MFU's peak, the GPU memory share and CUDA graphs (issue 17)
peak 0          | 2 | --peak-tflops: expected a positive number, got '0'         | $S train ok.toml --db ref.db --runs-dir runs --peak-tflops 0
peak text       | 2 | --peak-tflops: expected a positive number, got 'fast'      | $S train ok.toml --db ref.db --runs-dir runs --peak-tflops fast
gpu frac 1.5    | 2 | --gpu-memory-fraction: expected a number in (0, 1], got 1.5 | $S train ok.toml --db ref.db --runs-dir runs --gpu-memory-fraction 1.5
gpu frac 0      | 2 | --gpu-memory-fraction: expected a positive number, got '0' | $S train ok.toml --db ref.db --runs-dir runs --gpu-memory-fraction 0
graphs on cpu   | 2 | --cuda-graphs needs a CUDA device                          | $S train ok.toml --db ref.db --runs-dir runs --cuda-graphs
graphs no gpu   | 2 | --device cuda: this machine has no CUDA device             | $S train ok.toml --db ref.db --runs-dir runs --device cuda --cuda-graphs
sweep peak 0    | 2 | --peak-tflops: expected a positive number, got '0'         | $S sweep oksweep.toml --db ref.db --runs-dir runs --peak-tflops 0
sweep frac 2    | 2 | --gpu-memory-fraction: expected a number in (0, 1], got 2  | $S sweep oksweep.toml --db ref.db --runs-dir runs --gpu-memory-fraction 2
sweep graphs cpu| 2 | --cuda-graphs needs a CUDA device                          | $S sweep oksweep.toml --db ref.db --runs-dir runs --cuda-graphs
exec peak -1    | 2 | execution.peak_tflops: expected a positive number          | $S sweep peakneg.toml --db ref.db --runs-dir runs
exec frac 1.5   | 2 | execution.gpu_memory_fraction: expected a number in (0, 1], got 1.5 | $S sweep fracbig.toml --db ref.db --runs-dir runs
exec frac 0     | 2 | execution.gpu_memory_fraction: expected a number in (0, 1], got 0 | $S sweep frac0.toml --db ref.db --runs-dir runs
exec graphs str | 2 | execution.cuda_graphs                                      | $S sweep graphsstr.toml --db ref.db --runs-dir runs
exec graphs cpu | 2 | execution.cuda_graphs needs a CUDA device                  | $S sweep graphscpu.toml --db ref.db --runs-dir runs
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
# model, train, data, eval and checkpoint keys out of range or of the wrong type
n_head 0        | 2 | model.n_head: expected a positive integer, got 0           | $S train nhead0.toml --db ref.db --runs-dir runs
d_model 0       | 2 | model.d_model: expected a positive integer, got 0          | $S train dmodel0.toml --db ref.db --runs-dir runs
n_layer 0       | 2 | model.n_layer: expected a positive integer, got 0          | $S train nlayer0.toml --db ref.db --runs-dir runs
seq_len 0       | 2 | model.seq_len: expected a positive integer, got 0          | $S train seq0.toml --db ref.db --runs-dir runs
vocab 0         | 2 | model.vocab: expected a positive integer, got 0            | $S train vocab0.toml --db ref.db --runs-dir runs
vocab 1e11      | 2 | model.vocab: uint16 tokens need vocab <= 65536             | $S train vocabbig.toml --db ref.db --runs-dir runs
batch_tokens 0  | 2 | train.batch_tokens: expected a positive integer, got 0     | $S train bt0.toml --db ref.db --runs-dir runs
micro_batch 0   | 2 | train.micro_batch: expected a positive integer, got 0      | $S train mb0.toml --db ref.db --runs-dir runs
lr negative     | 2 | train.lr: expected a positive number, got -0.001           | $S train lrneg.toml --db ref.db --runs-dir runs
lr inf          | 2 | train.lr: expected a finite number                         | $S train lrinf.toml --db ref.db --runs-dir runs
weight_decay -1 | 2 | train.weight_decay: expected a number in [0, 10], got -1   | $S train wdneg.toml --db ref.db --runs-dir runs
warmup 2        | 2 | train.warmup_fraction: expected a number in [0, 0.5]       | $S train warm2.toml --db ref.db --runs-dir runs
dropout 1.5     | 2 | model.dropout: expected a number in [0, 0.9], got 1.5      | $S train drop15.toml --db ref.db --runs-dir runs
decay 2         | 2 | train.decay_fraction: expected a number in [0, 1], got 2   | $S train decay2.toml --db ref.db --runs-dir runs
tokens string   | 2 | train.tokens: expected a number, got the string "lots"     | $S train tokstr.toml --db ref.db --runs-dir runs
tokens array    | 2 | train.tokens: expected a number, got an array              | $S train tokarr.toml --db ref.db --runs-dir runs
d_model float   | 2 | model.d_model: expected an integer, got 32.5               | $S train dfloat.toml --db ref.db --runs-dir runs
n_layer bool    | 2 | model.n_layer: expected an integer, got true               | $S train nlbool.toml --db ref.db --runs-dir runs
duplicate key   | 2 | dupkey.toml:6: invalid TOML: Error while parsing key-value pair: cannot redefine | $S train dupkey.toml --db ref.db --runs-dir runs
duplicate table | 2 | cannot redefine existing table 'model'                     | $S train duptab.toml --db ref.db --runs-dir runs
array of tables | 2 | model: expected a table, got an array                      | $S train modelarr.toml --db ref.db --runs-dir runs
no data file    | 2 | data.path: no such file                                    | $S train nodata.toml --db ref.db --runs-dir runs
data is a dir   | 2 | is a directory; expected a UTF-8 text file                 | $S train datadir.toml --db ref.db --runs-dir runs
data unknown key| 2 | data.format: unknown key; expected one of: kind, path, val_fraction | $S train fmt.toml --db ref.db --runs-dir runs
val_fraction 0  | 2 | data.val_fraction: expected a number in [0.0001, 0.5], got 0 | $S train val0.toml --db ref.db --runs-dir runs
val_fraction 1  | 2 | data.val_fraction: expected a number in [0.0001, 0.5], got 1 | $S train val1.toml --db ref.db --runs-dir runs
checkpoint -1   | 2 | checkpoint.every: expected a positive integer, got -1      | $S train ckneg.toml --db ref.db --runs-dir runs
eval every 0    | 2 | eval.every: expected a positive integer, got 0             | $S train ev0.toml --db ref.db --runs-dir runs
name integer    | 2 | name: expected a string, got 5                             | $S train nameint.toml --db ref.db --runs-dir runs
unknown table   | 2 | frob: unknown key; expected one of: name, data, model      | $S train unktab.toml --db ref.db --runs-dir runs
empty config    | 2 | data: missing table; expected [data] with kind and path    | $S train emptyconf.toml --db ref.db --runs-dir runs
binary config   | 2 | invalid TOML: Encountered invalid utf-8 sequence           | $S train garbage.toml --db ref.db --runs-dir runs
config is a dir | 2 | keep                                                       | $S train keep --db ref.db --runs-dir runs
runs-dir a file | 2 | ok.toml is not a directory (it is a file) | $S train longer.toml --db ref.db --runs-dir ok.toml
runs-dir a file (sweep) | 2 | ok.toml is not a directory (it is a file) | $S sweep oksweep.toml --db ref.db --runs-dir ok.toml
# sweep configs
axis empty      | 2 | axes.params: expected at least one value                   | $S sweep axempty.toml --db ref.db --runs-dir runs
axis unknown    | 2 | axes.foo: unknown key; expected one of: params, tokens     | $S sweep axunk.toml --db ref.db --runs-dir runs
axis negative   | 2 | axes.params[0]: expected a positive number                 | $S sweep axneg.toml --db ref.db --runs-dir runs
axis tokens 0   | 2 | axes.tokens[0]: expected a positive number                 | $S sweep axtok0.toml --db ref.db --runs-dir runs
unknown mode    | 2 | mode: expected one of "grid", "isoflop", "ladder", got "foo" | $S sweep badmode.toml --db ref.db --runs-dir runs
isoflop no C    | 2 | axes.compute: missing; isoflop mode needs FLOP budgets     | $S sweep isonocomp.toml --db ref.db --runs-dir runs
tpp min > max   | 2 | filters.max_tokens_per_param: must be at least filters.min_tokens_per_param | $S sweep tpp.toml --db ref.db --runs-dir runs
lr axis + rule  | 2 | axes.lr: give axes.lr or lr_rule, not both                 | $S sweep lrboth.toml --db ref.db --runs-dir runs
seed negative   | 2 | axes.seed[0]: expected a non-negative integer              | $S sweep seedneg.toml --db ref.db --runs-dir runs
compute negative| 2 | axes.compute[0]: expected a positive number                | $S sweep compneg.toml --db ref.db --runs-dir runs
lr string       | 2 | axes.lr[0]: expected a positive number                     | $S sweep lrstr.toml --db ref.db --runs-dir runs
extends missing | 2 | extends: no such file nope.toml                            | $S sweep extmiss.toml --db ref.db --runs-dir runs
extends cycle   | 2 | is already being extended; a base cannot extend itself     | $S sweep cyc1.toml --db ref.db --runs-dir runs
filters skip all| 2 | no runs to train: the filters skip all 1 planned           | $S sweep filtall.toml --db ref.db --runs-dir runs
shape axis half | 2 | model.n_head: missing; the shape axes need the rest of the shape fixed | $S sweep shapeaxis.toml --db ref.db --runs-dir runs
sweep missing   | 2 | nope.toml: no such file; expected a sweep config           | $S sweep nope.toml --db ref.db --runs-dir runs
plan missing    | 2 | nope.toml: no such file; expected a TOML config            | $S plan nope.toml
# learning-rate rules from a stored fit (fits.db holds one fit of Epoch's points, id 1)
lr_rule no fit  | 2 | lr_rule.fit: no fit 999 in fits.db                         | $S sweep rulemissing.toml --db fits.db --runs-dir runs
lr_rule not lr  | 2 | lr_rule.fit: fit 1 is a                                    | $S sweep rulenotlr.toml --db fits.db --runs-dir runs
lr_rule both    | 2 | lr_rule.fit: give lr_rule = { fit = ID } or lr_rule = { c = 0.1, k = 0.25 }, not both | $S sweep ruleboth.toml --db fits.db --runs-dir runs
lr_rule fit 0   | 2 | lr_rule.fit: expected a positive integer, got 0            | $S sweep rule0.toml --db fits.db --runs-dir runs
lr_rule no db   | 2 | lr_rule.fit: fit 1 is read from the database: nosuch.db: no such database | $S plan rulenotlr.toml --db nosuch.db --no-calibrate
law lr csv      | 2 | --law lr needs a sweep with an LR axis (axes.lr)           | E --bootstrap 0 --law lr
law lr approach | 2 | --law lr fits a learning-rate rule, not a loss law: it takes no --approach | $S fit sw --law lr --approach 1,2 --db fits.db
# μP
parametrization | 2 | model.parametrization: expected one of "sp", "mup", got "ntk" | $S train mupunk.toml --db ref.db --runs-dir runs
mup no base     | 2 | model.mup_base_width: missing; model.parametrization = "mup" needs the base width | $S train mupnobase.toml --db ref.db --runs-dir runs
mup base > width| 2 | model.mup_base_width: 64 is larger than model.d_model (32) | $S train mupwide.toml --db ref.db --runs-dir runs
base under sp   | 2 | model.mup_base_width: only used with model.parametrization = "mup" | $S train mupsp.toml --db ref.db --runs-dir runs
mup base 0      | 2 | model.mup_base_width: expected a positive integer          | $S train mup0.toml --db ref.db --runs-dir runs
mup sweep width | 2 | model.mup_base_width: 64 is larger than model.d_model (32) | $S sweep mupsweep.toml --db ref.db --runs-dir runs
# CSV files for fit --csv
csv header only | 2 | hdr.csv: no data rows after the header                     | $S fit --csv hdr.csv --n-col N --c-col C --loss-col loss --db ref.db
csv empty       | 2 | empty.csv: empty file, expected a header row and data rows | $S fit --csv empty.csv --n-col N --c-col C --loss-col loss --db ref.db
csv nan         | 2 | nan.csv:2: column "loss" is "nan", expected a finite number | $S fit --csv nan.csv --n-col N --c-col C --loss-col loss --db ref.db
csv negative N  | 2 | neg.csv:2: column "N" is -1000000, parameters must be positive | $S fit --csv neg.csv --n-col N --c-col C --loss-col loss --db ref.db
csv text        | 2 | txt.csv:2: column "loss" is "abc", expected a finite number | $S fit --csv txt.csv --n-col N --c-col C --loss-col loss --db ref.db
csv ragged      | 2 | ragged.csv:2: 4 fields, expected 3 as in the header        | $S fit --csv ragged.csv --n-col N --c-col C --loss-col loss --db ref.db
csv inf         | 2 | inf.csv:2: column "C" is "inf", expected a finite number   | $S fit --csv inf.csv --n-col N --c-col C --loss-col loss --db ref.db
csv dup column  | 2 | dupcol.csv: no column "C" (given by --c-col)               | $S fit --csv dupcol.csv --n-col N --c-col C --loss-col loss --db ref.db
csv drop all    | 2 | --drop-highest 3 would drop all 3 rows of three.csv        | $S fit --csv three.csv --n-col N --c-col C --loss-col loss --db ref.db --drop-highest 3
csv drop -1     | 2 | --drop-highest must be >= 0, got -1                        | $S fit --csv three.csv --n-col N --c-col C --loss-col loss --db ref.db --drop-highest -1
csv no n-col    | 2 | --n-col is required with --csv                             | $S fit --csv three.csv --c-col C --loss-col loss --db ref.db
csv wrong n-col | 2 | three.csv: no column "Q" (given by --n-col)                | $S fit --csv three.csv --n-col Q --c-col C --loss-col loss --db ref.db
csv 3 points      | 2 | too few points for a chinchilla fit: 3 given, at least 7 needed | $S fit --csv three.csv --n-col N --c-col C --loss-col loss --db ref.db --law chinchilla
# fit and forecast flags
fit nothing     | 2 | give a SWEEP (name or id) or --csv PATH, exactly one       | $S fit --db ref.db
fit both        | 2 | give a SWEEP (name or id) or --csv PATH, exactly one       | $S fit sw --csv three.csv --db ref.db
bootstrap -1    | 2 | --bootstrap must be >= 0, got -1                           | E --bootstrap=-1
bootstrap text  | 2 | --bootstrap: expected an integer, got 'abc'                | $S fit --csv epoch.csv --n-col 'Model Size' --c-col 'Training FLOP' --loss-col loss --db ref.db --bootstrap abc
unknown law     | 2 | --law must be auto, chinchilla                             | E --bootstrap 0 --law frob
holdout         | 2 | --holdout must be 'largest', 'none' or a FLOP threshold    | E --bootstrap 0 --holdout frob
weights         | 2 | --weights must be none or se, got 'frob'                   | E --bootstrap 0 --weights frob
weights se no se| 2 | --weights se: no point has a standard error                | E --bootstrap 0 --weights se
near-optimal 0  | 2 | --near-optimal must be a number > 1, got 0                 | E --bootstrap 0 --near-optimal 0
min tpp -5      | 2 | --min-tokens-per-param must be a number > 0, got -5        | E --bootstrap 0 --min-tokens-per-param -5
delta 0         | 2 | --delta must be positive, got 0                            | E --bootstrap 0 --delta 0
max-iterations 0| 2 | --max-iterations must be >= 1, got 0                       | E --bootstrap 0 --max-iterations 0
folds 0         | 2 | --backtest-folds must be >= 1, got 0                       | E --bootstrap 0 --backtest-folds 0
budget tol -1   | 2 | --budget-tolerance must be a positive number of decades, got -1 | E --bootstrap 0 --budget-tolerance -1
grid starts -1  | 2 | --grid-starts must be >= 0, got -1                         | E --bootstrap 10 --grid-starts -1
solver          | 2 | --solver must be auto, multistart or varpro, got 'frob'    | E --bootstrap 0 --solver frob
power x         | 2 | --x must be n, d or c (the power law's variable), got 'q'  | E --bootstrap 0 --law power --x q
forecast -1     | 2 | --compute must be a positive number, got -1                | $S forecast --db fits.db --compute -1
forecast nan    | 2 | --compute must be a positive number, got nan               | $S forecast --db fits.db --compute nan
forecast text   | 2 | --compute: expected a number, got 'lots'                   | $S forecast --db fits.db --compute lots
forecast nothing| 2 | nothing to forecast: give --compute, --gpu-hours           | $S forecast --db fits.db
forecast mfu 2  | 2 | --mfu must be in (0, 1], got 2                             | $S forecast --db fits.db --compute 1e21 --mfu 2
forecast gpu    | 2 | unknown --gpu 'frob'; known: h100                          | $S forecast --db fits.db --gpu-hours 1000 --gpu frob
forecast level  | 2 | --level must be in (0, 1), got 1.5                         | $S forecast --db fits.db --compute 1e21 --level 1.5
forecast both   | 2 | give --compute or --gpu-hours, not both                    | $S forecast --db fits.db --compute 1e21 --gpu-hours 100
forecast fit id | 2 | fits.db: no fit 99999                                       | $S forecast --db fits.db --compute 1e21 --fit 99999
# other commands' flags and names
kjv to a dir    | 2 | --out: keep is a directory; expected the path of the text file to write | $S data kjv --out keep
backend         | 2 | --backend: frob not in {local,slurm}                       | $S sweep axunk.toml --db ref.db --backend frob
jobs 0          | 2 | --jobs: expected a positive number, got '0'                | $S sweep filtall.toml --db ref.db --jobs 0
report format   | 2 | --format takes svg, png and/or pdf                         | $S report --db ref.db --out rr --format bmp
export neither  | 2 | export needs --csv or --json (or both)                     | $S export --db ref.db --out ee
export to a file| 2 | cannot create ok.toml: Not a directory                     | $S export --db ref.db --csv --out ok.toml
report to a file| 2 | cannot create ok.toml/figures: Not a directory             | $S report --db ref.db --out ok.toml
no run (empty)  | 2 | ref.db: no run ''                                          | $S curves '' --db ref.db
cancel unknown  | 2 | ref.db: no sweep 'nosuch'                                  | $S cancel nosuch --db ref.db
retry unknown   | 2 | ref.db: no sweep 'nosuch'                                  | $S retry nosuch --db ref.db
status unknown  | 2 | ref.db: no sweep 'nosuch'                                  | $S status nosuch --db ref.db
train unknown id| 2 | ref.db: no run 'zzzz'                                      | $S train --run zzzz --db ref.db
# databases that are not (or not yet) scalelab's
truncated db    | 2 | trunc.db: the database is corrupt                          | $S runs --db trunc.db
truncated train | 2 | trunc.db: the database is corrupt                          | $S train longer.toml --db trunc.db --runs-dir runs
text as db      | 2 | text.db: not a SQLite database                             | $S runs --db text.db
text as db train| 2 | text.db: not a SQLite database                             | $S train longer.toml --db text.db --runs-dir runs
text as db init | 2 | text.db: not a SQLite database                             | $S init --db text.db
newer schema    | 2 | future.db: database schema version 999 is newer than this scalelab supports | $S runs --db future.db
newer schema tr | 2 | future.db: database schema version 999 is newer than this scalelab supports | $S train longer.toml --db future.db --runs-dir runs
db is a dir     | 2 | dir.db: cannot open the database                           | $S runs --db dir.db
db is a dir tr  | 2 | dir.db: cannot open the database                           | $S train longer.toml --db dir.db --runs-dir runs
empty file runs | 2 | zero.db: an empty file, not a scalelab database            | $S runs --db zero.db
empty file stat | 2 | zero.db: an empty file, not a scalelab database            | $S status --db zero.db
empty file rep  | 2 | zero.db: an empty file, not a scalelab database            | $S report --db zero.db --out rep
bad lock wait   | 2 | SCALELAB_LOCK_WAIT_S: expected whole seconds from 1 to 86400, got '0' | SCALELAB_LOCK_WAIT_S=0 $S runs --db ref.db
# bits per byte (issue 18)
loss unit       | 2 | --loss must be nats or bpb, got 'bits'                     | $S fit old --db nobpb.db --loss bits
loss bpb no bpt | 2 | --loss bpb: run                                            | $S fit old --db nobpb.db --loss bpb --bootstrap 0
loss bpb csv    | 2 | --loss bpb converts a sweep's losses                       | E --bootstrap 0 --loss bpb
bad meta.json   | 2 | badtok/meta.json: tokenizer: expected a value, the key is missing | $S train badmeta.toml --db ref.db --runs-dir runs
bad meta plan   | 2 | badtok/meta.json: tokenizer: expected                      | $S plan badmetasweep.toml --no-calibrate
# data tokenize (issue 18): flags, texts, models and output folders; nothing is written
tokenize vocab lo | 2 | --vocab 100: expected an integer in [259, 65535]           | $S data tokenize corpus.txt --vocab 100 --out tok
tokenize vocab hi | 2 | --vocab 70000: expected an integer in [259, 65535]         | $S data tokenize corpus.txt --vocab 70000 --out tok
tokenize no vocab | 2 | --vocab is required to train a tokenizer                   | $S data tokenize corpus.txt --out tok
tokenize chars    | 2 | --vocab 260: too small for the characters of corpus.txt    | $S data tokenize corpus.txt --vocab 260 --out tok
tokenize small txt| 2 | --vocab 8192: too large for ok.toml                         | $S data tokenize ok.toml --vocab 8192 --out tok
tokenize bad model| 2 | --model text.db: not a SentencePiece model                  | $S data tokenize corpus.txt --model text.db --out tok
tokenize 0 model  | 2 | --model zero.db: an empty file; expected a SentencePiece model | $S data tokenize corpus.txt --model zero.db --out tok
tokenize dir model| 2 | --model dir.db: not a file; expected a SentencePiece .model | $S data tokenize corpus.txt --model dir.db --out tok
tokenize foreign  | 2 | --out keep: it holds files but no meta.json                 | $S data tokenize corpus.txt --vocab 4096 --out keep
tokenize out file | 2 | --out ok.toml: a file; expected a folder                    | $S data tokenize corpus.txt --vocab 4096 --out ok.toml
tokenize no text  | 2 | nofile.txt: no such file; expected a UTF-8 text file        | $S data tokenize nofile.txt --vocab 4096 --out tok
tokenize 0 text   | 2 | empty.txt: an empty file; expected text to tokenize         | $S data tokenize empty.txt --vocab 4096 --out tok
tokenize dir text | 2 | keep: a directory; expected a UTF-8 text file               | $S data tokenize keep --vocab 4096 --out tok
tokenize type     | 2 | --model-type word: expected bpe or unigram                  | $S data tokenize corpus.txt --vocab 4096 --model-type word --out tok
tokenize val frac | 2 | --val-fraction 0: expected a number in (0, 1)               | $S data tokenize corpus.txt --vocab 4096 --val-fraction 0 --out tok
CASES
[ "$n" -ge 140 ] || fail "only $n cases ran"
echo "bad_inputs: ok ($n cases: each its exit code and one line; the databases byte-identical, no file written)"
