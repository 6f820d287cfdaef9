#!/usr/bin/env bash
# Per-shot instruction counts on the issue-15 phone-photo set (shc/qr
# photoset_test.go, seed 2026, 24 shots): our decoder against zbar, both
# under callgrind so machine load does not matter.
#   scripts/qr-photoset-instructions.sh            # all shots
#   scripts/qr-photoset-instructions.sh 2 13       # some shots
# Ours: BenchmarkDecodePhotoSet (QR_PHOTO=N) at -test.benchtime 3x minus 1x,
# halved (the shot is rendered outside the timed loop). zbar: `zbarimg
# --quiet --raw -Sdisable -Sqrcode.enable FILE` minus zbarimg on a 1×1 PNG.
# Read/rung/zbar-read come from `TestPhotoSet -v`. Needs valgrind and
# zbarimg (Debian packages valgrind, zbar-tools). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
export GODEBUG=asyncpreemptoff=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/qr.test" ./shc/qr
mkdir "$tmp/shots"
(cd shc/qr && QR_PHOTOSET_DIR="$tmp/shots" "$tmp/qr.test" -test.run '^TestPhotoSet$' -test.v) >"$tmp/log" ||
  { cat "$tmp/log" >&2; exit 1; }
collected() { awk '/Collected/ {print $4}'; }
ours() {
  (cd shc/qr && QR_PHOTO=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$tmp/qr.test" -test.run '^$' \
    -test.bench '^BenchmarkDecodePhotoSet$' -test.benchtime="$2x" -test.cpu=1 2>&1 | collected)
}
zbar() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null zbarimg --quiet --raw -Sdisable -Sqrcode.enable "$1" 2>&1 | collected || true
}
# A 1×1 white PNG: zbarimg's start-up and exit.
base64 -d >"$tmp/one.png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg=='
z0=$(zbar "$tmp/one.png")
shots=("$@")
if [ ${#shots[@]} -eq 0 ]; then shots=($(seq 0 23)); fi
echo "| shot | conditions | we read (rung) | zbar reads | ours (M) | zbar (M) | ours / zbar |"
echo "|---|---|---|---|---|---|---|"
for i in "${shots[@]}"; do
  n=$(printf %02d "$i")
  line=$(grep -E "shot $n ours=" "$tmp/log")
  name=$(sed -E 's/.* ([0-9]{2}-[^ ]*)\.jpg$/\1/' <<<"$line")
  read_=$(sed -E 's/.*ours=(true|false) rung=([0-9]+).*/\1 \2/' <<<"$line")
  zread=$(sed -E 's/.*zbar=(true|false).*/\1/' <<<"$line")
  a=$(ours "$i" 1)
  b=$(ours "$i" 3)
  z=$(zbar "$tmp/shots/$name.jpg")
  o=$(( (b - a) / 2 ))
  zz=$(( z - z0 ))
  set -- $read_
  r="no"; [ "$1" = true ] && r="yes ($2)"
  zr="no"; [ "$zread" = true ] && zr="yes"
  awk -v i="$n" -v c="${name#??-}" -v r="$r" -v zr="$zr" -v o="$o" -v z="$zz" \
    'BEGIN { printf "| %s | %s | %s | %s | %.0f | %.0f | %.2f |\n", i, c, r, zr, o/1e6, z/1e6, o/z }'
done
echo
grep -E 'we read|first successful rung' "$tmp/log" | sed -E 's/^ *photoset_test.go:[0-9]+: //'
echo "zbarimg start-up (1×1 PNG): $z0 instructions"
