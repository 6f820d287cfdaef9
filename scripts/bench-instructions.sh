#!/usr/bin/env bash
# Instructions per benchmark op under valgrind (callgrind), independent of
# machine load: (count at 201 iterations - count at 101) / 100.
#   scripts/bench-instructions.sh ./shc BenchmarkVerifyFromJWS
# Needs valgrind (Debian package "valgrind").
set -euo pipefail
pkg=$1 bench=$2
bin=$(mktemp -d)/bench.test
go test -c -o "$bin" "$pkg"
cd "$pkg"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" -test.run '^$' \
    -test.bench "^${bench}\$" -test.benchtime="${1}x" -test.cpu=1 2>&1 | awk '/Collected/ {print $4}'
}
a=$(count 101)
b=$(count 201)
echo "$bench: $(( (b - a) / 100 / 1000 ))k instructions/op"
