# Shared by tests/e2e/slurm_*.sh (sourced after lib.sh). Skips the test, with the
# reason, when there is no SLURM here; CI (.ci/run) always starts one.
need_slurm() {
  if ! command -v sbatch >/dev/null 2>&1; then
    [ "${CI:-}" = true ] && fail "sbatch not found, but CI must run the SLURM tests (.ci/run starts a cluster)"
    echo "SKIP: sbatch not found; start a cluster with ../shared/tools/slurm-local.sh up"
    exit 0
  fi
  if ! scontrol ping 2>/dev/null | grep 'is UP' >/dev/null; then
    [ "${CI:-}" = true ] && fail "slurmctld is not answering (scontrol ping)"
    echo "SKIP: sbatch is here but slurmctld does not answer; ../shared/tools/slurm-local.sh up starts one"
    exit 0
  fi
  # Jobs run as root on this host and read the test's files where they are.
  chmod 755 "$WORK"
}

# A tiny IsoFLOP sweep (3 runs of a few seconds each on one thread).
write_tiny_config() {  # FILE NAME [compute list]
  { printf 'name = %s\nmode = "isoflop"\n' "$(jq -Rn --arg n "$2" '$n')"; tiny_model_toml; cat <<TOML
lr = 3e-3
[eval]
every = 25
batches = 2
[axes]
compute = ${3:-[1e10]}
[isoflop]
sizes = 3
span = 64
TOML
  } > "$1"
}
