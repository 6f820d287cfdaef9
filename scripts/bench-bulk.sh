#!/usr/bin/env bash
# Bulk issuing measurements for BENCHMARKS.md ("Bulk issuing (issue 16)").
#
#   scripts/bench-bulk.sh N [sqlite|postgres] [card|card,png|card,pdf ...]
#
# Builds shc-issuer, generates N synthetic patients (shc-issuer bulk
# generate), and runs `shc-issuer bulk issue` once per output kind on a
# fresh store, printing per run: cards, CPU seconds (user+sys), cards per
# CPU-second (= per core; load independent, unlike wall time on a shared
# machine), wall seconds, peak RSS, and the share of CPU samples in each
# stage (signing, deflate, QR, PNG, PDF, store, index, JSON) from a CPU
# profile of the run. BULK_FLAGS adds flags to every run (e.g.
# BULK_FLAGS=--link-passcodes with the link output). postgres needs HEALTHCARDS_TEST_POSTGRES_DSN
# (eval "$(bash .ci/postgres.sh)"); each run gets a fresh schema.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: scripts/bench-bulk.sh N [sqlite|postgres] [outputs...]}
storekind=${2:-sqlite}
shift $(( $# >= 2 ? 2 : 1 ))
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(card card,png card,pdf)
work=$(mktemp -d /tmp/bench-bulk.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/shc-issuer" ./cmd/shc-issuer
bin=$work/shc-issuer
export SHC_ISSUER_KEY_PASSPHRASE=bench-bulk-passphrase-0123456789
"$bin" bulk generate --out "$work/in" --patients "$n" >/dev/null
echo "input: $n patients, $(du -sh "$work/in" | cut -f1) of NDJSON; GOMAXPROCS=$(nproc); load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in "${kinds[@]}"; do
	data=$work/data-$RANDOM
	store=(--store sqlite)
	if [ "$storekind" = postgres ]; then
		: "${HEALTHCARDS_TEST_POSTGRES_DSN:?eval \"\$(bash .ci/postgres.sh)\" first}"
		schema=bench_bulk_$RANDOM$RANDOM
		psql "$HEALTHCARDS_TEST_POSTGRES_DSN" -qc "CREATE SCHEMA $schema" >/dev/null
		sep='?'; case $HEALTHCARDS_TEST_POSTGRES_DSN in *\?*) sep='&' ;; esac
		store=(--store postgres --postgres-dsn "$HEALTHCARDS_TEST_POSTGRES_DSN${sep}search_path=$schema")
	fi
	out=$work/out-$RANDOM
	/usr/bin/time -f '%U %S %e %M' -o "$work/time" "$bin" bulk issue --in "$work/in" --out "$out" --batch bench \
		--data "$data" --iss https://bench.example.org --outputs "$kind" --progress-every 1h \
		--cpuprofile "$work/cpu.pprof" "${store[@]}" ${BULK_FLAGS:-} >"$work/stdout" 2>"$work/stderr" || { cat "$work/stderr"; exit 1; }
	read -r user sys wall rss <"$work/time"
	cards=$(sed -n 's/.*patients (\([0-9]*\) cards).*/\1/p' "$work/stdout")
	go tool pprof -traces "$bin" "$work/cpu.pprof" 2>/dev/null >"$work/traces"
	shares=$(python3 - "$work/traces" <<'PY'
import re, sys
stages = [  # first match wins, checked in this order on each stack
    ("link", r"httpapi\.\(\*Links\)\.CardLink|shl/host|shl/sqlstore|bulk\.linkPNG|crypto/argon2"),
    ("PDF", r"go-pdf/fpdf|issuer/bulk\.\(\*outputs\)\.pdf|bulk\.drawQR"),
    ("PNG", r"image/png|shc/qr\.\(\*Code\)\.PNG"),
    ("QR", r"shc/qr\.Encode|shc/qr\.encode"),
    ("signing", r"crypto/ecdsa|crypto/internal/fips140/ecdsa|nistec"),
    ("deflate", r"compress/flate|klauspost/compress"),
    ("index", r"issuer/bulk\.\(\*index\)|issuer/bulk\.load|issuer/bulk\.\(\*loader\)"),
    ("store", r"issuer/store/|internal/sqldb|pgx|modernc\.org/sqlite"),
    ("JSON", r"encoding/json|internal/jsonlite|shc\.Minify"),
    ("key unlock", r"pbkdf2|keys\.OpenRing|keys\.\(\*Ring\)"),
    ("file I/O", r"syscall\.|internal/poll|os\.\(\*File\)"),
    ("GC", r"runtime\.gcBgMarkWorker|runtime\.gcDrain|runtime\.mallocgc"),
]
total = 0.0
acc = {name: 0.0 for name, _ in stages}
other = 0.0
val = None
stack = []
def flush():
    global total, other
    if val is None: return
    total_add = val
    s = "\n".join(stack)
    for name, pat in stages:
        if re.search(pat, s):
            acc[name] += total_add
            break
    else:
        other += total_add
    total += total_add
for line in open(sys.argv[1]):
    if line.startswith("-----------"):
        flush(); val = None; stack = []; continue
    m = re.match(r"\s+(\d+(?:\.\d+)?)(ms|s|us)\s+(\S.*)", line)
    if m:
        v = float(m.group(1)) * {"s": 1000, "ms": 1, "us": 0.001}[m.group(2)]
        val = v; stack = [m.group(3)]; continue
    if val is not None and line.strip():
        stack.append(line.strip())
flush()
if total:
    print(", ".join(f"{k} {100*v/total:.0f}%" for k, v in acc.items() if v/total >= 0.005) + f", other {100*other/total:.0f}%")
PY
)
	cpu=$(python3 -c "print(f'{$user+$sys:.1f}')")
	rate=$(python3 -c "print(f'{$cards/($user+$sys):.0f}')")
	printf '%-9s %-8s %7s cards  cpu %6ss  %5s cards/cpu-s  wall %6ss  maxrss %s MB\n    stages: %s\n' \
		"$kind" "$storekind" "$cards" "$cpu" "$rate" "$wall" "$((rss / 1024))" "$shares"
	rm -rf "$out" "$data"
done
