#!/usr/bin/env bash
# Resume after a kill at 50 % (BENCHMARKS.md, "Bulk issuing (issue 16)"):
#
#   scripts/bench-bulk-resume.sh N
#
# Generates N synthetic patients, starts `shc-issuer bulk issue` (cards
# only, SQLite), SIGKILLs it when results.ndjson holds half the lines, and
# restarts it with the same batch id. Prints the time from the restart to
# its first new result line (the cost of resuming: key unlock, reading
# results.ndjson back, reusing the index) and to the end, the restarted
# run's CPU seconds, and checks that no result line is duplicated.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: scripts/bench-bulk-resume.sh N}
work=$(mktemp -d /tmp/bench-bulk-resume.XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
go build -o "$work/shc-issuer" ./cmd/shc-issuer
bin=$work/shc-issuer
export SHC_ISSUER_KEY_PASSPHRASE=bench-bulk-passphrase-0123456789
"$bin" bulk generate --out "$work/in" --patients "$n" >/dev/null
args=(bulk issue --in "$work/in" --out "$work/out" --batch resume --data "$work/data" --iss https://bench.example.org --progress-every 1h)
"$bin" "${args[@]}" >/dev/null 2>&1 &
pid=$!
res=$work/out/results.ndjson
while [ "$( (wc -l <"$res") 2>/dev/null || echo 0)" -lt $((n / 2)) ]; do sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null || true; pid=
before=$(wc -l <"$res")
start=$(date +%s.%N)
/usr/bin/time -f '%U %S %e %M' -o "$work/time" "$bin" "${args[@]}" >"$work/stdout" 2>&1 &
pid=$!
while [ "$(wc -l <"$res")" -le "$before" ]; do sleep 0.01; done
first=$(date +%s.%N)
wait $pid; pid=
read -r user sys wall rss <"$work/time"
lines=$(wc -l <"$res"); uniq=$(python3 -c "import json,sys; print(len({json.loads(l)['key'] for l in open('$res')}))")
python3 -c "print(f'killed at $before of $lines result lines; restart to first new line {$first-$start:.2f}s; restart to done {$wall}s wall, {$user+$sys:.1f}s CPU; peak RSS {$rss//1024} MB; duplicate lines: {$lines-$uniq}')"
