#!/usr/bin/env bash
# Demo: the disclosure checker. A researcher counts lung-cancer (C34) patients by prefecture and
# sex in a synthetic claims schema; kura-sdc recomputes the table from the schema itself, fails
# the cells with fewer than 10 patients, catches a tampered number, and writes a suppressed
# version that passes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KURA_BUILD_DIR:-$root/build}
sdc=$build/disclosure/kura-sdc
synth=$build/disclosure/kura-synth
work=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo-disclosure.XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { printf '\n== %s\n' "$*"; }

say "disclosure: a synthetic claims schema (20,000 claims, seed 7) from kura-synth"
"$synth" --rows 20000 --seed 7 --out "$work/claims_demo"
head -3 "$work/claims_demo/claims.csv"

say "the researcher's table: distinct C34 patients by prefecture and sex (Tokyo, Osaka, Tottori)"
mkdir -p "$work/outputs"
{
  echo "prefecture,sex,value"
  sqlite3 -csv :memory: -cmd ".mode csv" -cmd ".import $work/claims_demo/claims.csv claims" \
    "SELECT prefecture, sex, COUNT(DISTINCT patient_id) FROM claims
     WHERE icd10 = 'C34' AND prefecture IN ('13', '27', '31') GROUP BY 1, 2 ORDER BY 1, 2;"
} > "$work/outputs/c34.csv"
cat "$work/outputs/c34.csv"
cat > "$work/outputs/c34.json" <<'SPEC'
{"schema": "claims_demo", "table": "claims", "output": "c34.csv",
 "rows": ["prefecture"], "cols": ["sex"], "statistic": "count",
 "filter": [{"column": "icd10", "op": "=", "value": "C34"},
            {"column": "prefecture", "op": "in", "value": ["13", "27", "31"]}]}
SPEC

say "kura-sdc check (policy acro-default): small cells fail"
set +e
"$sdc" check --schema "$work/claims_demo" --spec "$work/outputs/c34.json" --format text \
  "$work/outputs/c34.csv"
status=$?
set -e
echo "exit status $status (2: something failed)"

say "a tampered table: Tokyo's first count raised by 3 is caught as a mismatch"
awk -F, 'NR == 2 { $3 = $3 + 3 } { print }' OFS=, "$work/outputs/c34.csv" > "$work/tampered.csv"
mkdir -p "$work/tampered" && mv "$work/tampered.csv" "$work/tampered/c34.csv"
set +e
"$sdc" check --schema "$work/claims_demo" --spec "$work/outputs/c34.json" --format text \
  "$work/tampered/c34.csv" | grep -E "mismatch|overall"
set -e

say "kura-sdc check --mitigate suppress: failing cells become *, and the new table passes"
set +e
"$sdc" check --schema "$work/claims_demo" --spec "$work/outputs/c34.json" --format text \
  --mitigate suppress --out "$work/safe" "$work/outputs/c34.csv"
status=$?
set -e
echo "exit status $status (0: everything passes)"
echo "the suppressed table, ready for review:"
cat "$work/safe/c34.csv"
