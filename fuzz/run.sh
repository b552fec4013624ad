#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and fails on the first crash:
#
#   bash fuzz/run.sh            # each target 10 s (what .ci/run does)
#   SECONDS_EACH=600 RELEASE=1 bash fuzz/run.sh   # longer, optimised
#   bash fuzz/run.sh matcher config               # some targets only
#
# Installs cargo-fuzz when missing. Works on the stable toolchain
# (RUSTC_BOOTSTRAP=1), without a sanitizer (`-s none`): what it looks for is
# panics, overflows (debug assertions are on) and hangs in code that reads
# outside bytes. Seeds come from the protocol vectors and captured payloads
# (fuzz/seed.py); a crash leaves its input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
each="${SECONDS_EACH:-10}"
profile=(--dev)
[[ -n "${RELEASE:-}" ]] && profile=()
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2 --quiet
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^ackbot-fuzz$')
fi
python3 seed.py
started=$SECONDS
cargo fuzz build -s none "${profile[@]}" >/dev/null
echo "fuzz build: $((SECONDS - started)) s"
for t in "${targets[@]}"; do
    # -timeout: one input taking over 10 s is a hang, and a failure.
    if ! cargo fuzz run -s none "${profile[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$each" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        >"corpus/$t.log" 2>&1; then
        echo "fuzz target $t FAILED:"
        grep -E "panicked at|ERROR|SUMMARY|Test unit written" "corpus/$t.log" | head -20
        exit 1
    fi
    echo "fuzz $t: $(grep -E '^Done' "corpus/$t.log" | tail -1)"
done
