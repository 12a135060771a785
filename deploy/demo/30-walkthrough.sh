#!/usr/bin/env bash
# The main job's walk-through: an operator sets kura up, a researcher at a VDI terminal logs
# in, opens a workspace on an analysis node, runs a Python analysis over /data, lists what it
# wrote to /outputs, and is refused what the rules forbid. Then, at a dedicated terminal, she
# writes a table with the workspace's `kura` Python module, asks for its export, the checker
# fails a small cell, she suppresses it and resubmits, two reviewers approve, and she downloads
# the signed release and verifies it offline. The stack (kura-gateway and
# kura-node on loopback, SQLite under .kura-demo/) is left running, with instructions for
# trying it by hand. Every wait is bounded; nothing here waits for a person.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KURA_BUILD_DIR:-$root/build}
demo=${KURA_DEMO_DIR:-$root/.kura-demo}
# Absolute: kura-admin registers schema directories by the path the node will mount.
case $demo in /*) ;; *) demo=$PWD/$demo ;; esac
port=${KURA_DEMO_PORT:-7443}

admin=$build/gateway/kura-admin
gateway=$build/gateway/kura-gateway
node=$build/node/kura-node
kura=$build/cli/kura
synth=$build/disclosure/kura-synth

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Runs a command that must be refused: shows its answer, fails the demo if it succeeds.
refused() {
  printf '$ %s\n' "$*"
  if "$@"; then
    echo "walk-through: expected a refusal from: $*" >&2
    exit 1
  fi
}

# Of `kura review show`'s output on stdin: the command shown, the request's first line, then
# the checker's report, each file (a table with its flagged rows marked in the margin: `!!`
# fails, `?` under review) and the votes and comments. The justification, file list and
# version history in between are left out here.
review_excerpt() {
  awk '/^\$ / || /^export [0-9]+ v/ { print; next } /^checker.s report:/ { on = 1 } on'
}

for program in "$admin" "$gateway" "$node" "$kura" "$synth"; do
  if [ ! -x "$program" ]; then
    echo "walk-through: $program is not built (run deploy/build.sh first)" >&2
    exit 1
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "walk-through: kura-node needs root for its sandboxes; run as root (or with sudo)" >&2
  exit 1
fi

# A previous demo's workspace and processes, by the ids it recorded.
for terminal in "$demo/terminal-alice" "$demo/terminal-alice-dedicated"; do
  if [ -f "$terminal/workspace" ]; then
    KURA_CONFIG_DIR=$terminal timeout 20 "$kura" workspace close >/dev/null 2>&1 || true
  fi
done
for pidfile in "$demo"/node.pid "$demo"/gateway.pid; do
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
done
rm -rf "$demo"
mkdir -p "$demo"
state=$demo/gateway
store=$state/store.sqlite
pki=$state/pki
mkdir -p "$state"
adm() { "$admin" "$@" --store "$store"; }
# `show adm ...` prints what an operator would type.
show() {
  if [ "$1" = adm ]; then shift; printf '$ kura-admin %s --store %s\n' "$*" "$store"; adm "$@"
  else printf '$ %s\n' "$*"; "$@"; fi
}

say "operator: kura's CA, the gateway's, a node's and a terminal's certificates"
show "$admin" pki init --dir "$pki" --store "$store"
show "$admin" pki issue-gateway --dir "$pki" --dns localhost --ip 127.0.0.1 --store "$store"
show "$admin" pki issue-node --dir "$pki" --id node-1 --dns localhost --ip 127.0.0.1 --store "$store"
show "$admin" pki issue-terminal --dir "$pki" --id vdi-01 --class standard --store "$store"
show "$admin" pki issue-terminal --dir "$pki" --id sec-01 --class dedicated --store "$store"

say "operator: a synthetic claims schema (anonymized) and a linked one (pseudonymized)"
mkdir -p "$demo/schemas"
show "$synth" --rows 20000 --seed 7 --out "$demo/schemas/claims"
# The linked schema's manifest declares itself pseudonymized: kura-admin registers the class
# the manifest states, the node reports it, and pseudonymized data need two reviewers.
show "$synth" --rows 2000 --seed 8 --name claims_linked --data-class pseudonymized \
  --out "$demo/schemas/claims_linked"
chmod -R a+rX "$demo/schemas"
# kura-admin loads each manifest (refusing a direct identifier), takes its class and records
# its SHA-256, which the node checks before it mounts the schema.
show adm schemas add claims --path "$demo/schemas/claims"
show adm schemas add claims_linked --path "$demo/schemas/claims_linked"
show adm schemas list

say "operator: a project, researchers, two disclosure reviewers and the data permit's window"
show adm projects add cancer-2026 --description "Treatment pathways in oncology claims"
adm users add alice --role researcher | tee "$demo/alice.enrol"
adm users add bob --role researcher | tee "$demo/bob.enrol"
adm users add rei --role reviewer | tee "$demo/rei.enrol"
adm users add ken --role reviewer | tee "$demo/ken.enrol"
show adm projects add-member cancer-2026 alice
show adm projects add-member cancer-2026 rei
show adm projects add-member cancer-2026 ken
show adm projects add diabetes-2026 --description "Another team's project"
show adm projects add-member diabetes-2026 bob
today=$(date -u +%Y-%m-%d)
until=$(date -u -d '+90 days' +%Y-%m-%d)
show adm grants add cancer-2026 claims --from "$today" --to "$until"
show adm grants add cancer-2026 claims_linked --from "$today" --to "$until"
show adm grants add diabetes-2026 claims --from "$today" --to "$until"

say "operator: start kura-gateway and kura-node on loopback"
nohup "$gateway" --state "$state" --listen "127.0.0.1:$port" --ready-file "$demo/gateway.ready" \
  >"$demo/gateway.log" 2>&1 &
echo $! >"$demo/gateway.pid"
for _ in $(seq 300); do [ -s "$demo/gateway.ready" ] && break; sleep 0.1; done
if [ ! -s "$demo/gateway.ready" ]; then
  echo "walk-through: kura-gateway did not start; see $demo/gateway.log" >&2
  tail -5 "$demo/gateway.log" >&2
  exit 1
fi
echo "kura-gateway serving on 127.0.0.1:$port (log: $demo/gateway.log)"

mkdir -p "$demo/node/certs"
cp "$pki/ca.crt" "$demo/node/certs/ca.pem"
cp "$pki/nodes/node-1.crt" "$demo/node/certs/node.pem"
install -m 0600 "$pki/nodes/node-1.key" "$demo/node/certs/node.key"
nohup "$node" serve --listen 127.0.0.1:0 --advertise 127.0.0.1:0 --certs "$demo/node/certs" \
  --state "$demo/node/state" --run "$demo/node/run" --gateway "127.0.0.1:$port" \
  >"$demo/node.log" 2>&1 &
echo $! >"$demo/node.pid"
for _ in $(seq 300); do adm nodes list 2>/dev/null | grep -q '^node-1' && break; sleep 0.1; done
if ! adm nodes list | grep -q '^node-1'; then
  echo "walk-through: kura-node did not register; see $demo/node.log" >&2
  tail -5 "$demo/node.log" >&2
  exit 1
fi
show adm nodes list

# The terminal's side: its certificate and where the gateway is.
terminal_config() {  # DIR USER [TERMINAL]
  local t=${3:-vdi-01}
  mkdir -p "$1"
  chmod 0700 "$1"
  cp "$pki/ca.crt" "$1/ca.crt"
  cp "$pki/terminals/$t.crt" "$1/$t.crt"
  install -m 0600 "$pki/terminals/$t.key" "$1/$t.key"
  cat >"$1/config.json" <<EOF
{"gateway": "127.0.0.1:$port", "ca": "ca.crt", "cert": "$t.crt", "key": "$t.key",
 "user": "$2"}
EOF
}
terminal_config "$demo/terminal-alice" alice
terminal_config "$demo/terminal-bob" bob
terminal_config "$demo/terminal-alice-dedicated" alice sec-01
terminal_config "$demo/terminal-rei" rei
terminal_config "$demo/terminal-ken" ken

# What the researcher's authenticator app would show: RFC 6238 over the enrolled secret.
cat >"$demo/totp.py" <<'EOF'
import base64, hmac, re, struct, sys, time
uri = open(sys.argv[1]).read()
secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
with_step = "--with-step" in sys.argv
step = int(time.time()) // 30
mac = hmac.new(key, struct.pack(">Q", step), "sha1").digest()
offset = mac[-1] & 0x0F
code = "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)
print("%d %s" % (step, code) if with_step else code)
EOF

# A TOTP code is accepted once per user and 30-second step: a second login of the same user
# waits (at most one step) for the next code, as a person would.
totp_login() {  # USER, with KURA_CONFIG_DIR set
  local user=$1 step code last
  last=$(cat "$demo/$user.totp-step" 2>/dev/null || echo 0)
  # The step recorded is the one the code was made for (read in the same instant), so a step
  # boundary between reading the clock and making the code cannot make the next login reuse it.
  read -r step code < <(python3 "$demo/totp.py" "$demo/$user.enrol" --with-step)
  if [ "$step" -le "$last" ]; then
    echo "(waiting for $user's next TOTP code)"
    for _ in $(seq 40); do
      read -r step code < <(python3 "$demo/totp.py" "$demo/$user.enrol" --with-step)
      [ "$step" -gt "$last" ] && break
      sleep 1
    done
  fi
  echo "$step" >"$demo/$user.totp-step"
  show "$kura" login "$user" --totp "$code"
}

export KURA_CONFIG_DIR=$demo/terminal-alice
say "researcher alice at terminal vdi-01 (standard): log in with a TOTP code"
totp_login alice
show "$kura" projects

say "refused: pseudonymized data from a standard terminal"
refused "$kura" workspace open cancer-2026 --schema claims_linked

say "a workspace with the anonymized schema, on the node"
show "$kura" workspace open cancer-2026 --schema claims --cpus 1 --memory 1
workspace=$(cat "$KURA_CONFIG_DIR/workspace")

cat >"$demo/analysis.py" <<'EOF'
# Claims per age band and sex over the mounted schema; the table goes to /outputs.
import csv, collections, glob, os
path = glob.glob("/data/claims/*.csv")[0]
with open(path, newline="") as f:
    rows = list(csv.DictReader(f))
columns = list(rows[0].keys())
group = [c for c in columns if c in ("age_band", "sex", "prefecture")][:2] or columns[:1]
counts = collections.Counter(tuple(r[c] for c in group) for r in rows)
os.makedirs("/outputs", exist_ok=True)
with open("/outputs/claims_by_group.csv", "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(group + ["claims"])
    for key, n in sorted(counts.items()):
        w.writerow(list(key) + [n])
print(f"{len(rows)} claims in {os.path.basename(path)}; {len(counts)} groups by {', '.join(group)}")
print("wrote /outputs/claims_by_group.csv")
EOF
say "upload the analysis into the project home and run it over /data"
show "$kura" upload "$demo/analysis.py" analysis.py
show timeout 300 "$kura" run -- python3 "/home/alice/analysis.py"
show timeout 120 "$kura" run -- sh -c 'ls -l /data/claims; touch /data/claims/x 2>&1 || echo "(/data is read-only)"'
show "$kura" outputs

say "an interactive shell in the same workspace (fed from a pipe here; by hand, a terminal)"
printf '$ printf %s | kura shell\n' "'ls /data /outputs\\nexit 3\\n'"
code=0
printf 'ls /data /outputs\nexit 3\n' | timeout 60 "$kura" shell || code=$?
printf '\n(kura shell returned the shell'"'"'s exit code: %s)\n' "$code"

say "refused: another researcher reaching alice's workspace by its id"
KURA_CONFIG_DIR=$demo/terminal-bob totp_login bob
refused env KURA_CONFIG_DIR="$demo/terminal-bob" timeout 60 "$kura" run --workspace "$workspace" -- cat /data/claims/claims.csv
refused env KURA_CONFIG_DIR="$demo/terminal-bob" "$kura" outputs --workspace "$workspace"

say "researcher alice at terminal sec-01 (dedicated): the pseudonymized schema"
export KURA_CONFIG_DIR=$demo/terminal-alice-dedicated
totp_login alice
show "$kura" workspace open cancer-2026 --schema claims_linked --cpus 1 --memory 1
linked_workspace=$(cat "$KURA_CONFIG_DIR/workspace")

# The workspace's own `kura` module (on PYTHONPATH) writes the table and its spec together.
cat >"$demo/table1.py" <<'EOF'
import sys
import kura
# Distinct patients per age band and sex; with --suppress, cells under 10 patients become "*".
kura.crosstab(["age_band"], ["sex"], schema="claims_linked", table="claims",
              out="/outputs/patients_by_age_sex.csv", suppress="--suppress" in sys.argv)
print(open("/outputs/patients_by_age_sex.csv").read(), end="")
EOF
say "a table and its spec, written with the workspace's kura module"
show "$kura" upload "$demo/table1.py" table1.py
show timeout 300 "$kura" run -- python3 /home/alice/table1.py
# The spec travels with the request from the terminal.
timeout 60 "$kura" run -- cat /outputs/patients_by_age_sex.spec.json >"$demo/patients_by_age_sex.spec.json"
cat "$demo/patients_by_age_sex.spec.json"

say "alice asks for the table's export; the checker recomputes it from the schema"
show timeout 120 "$kura" export request /outputs/patients_by_age_sex.csv \
  --spec "$demo/patients_by_age_sex.spec.json" \
  --justification "Patients per age band and sex for the cohort description" | tee "$demo/export.txt"
export_id=$(sed -n 's/^export \([0-9][0-9]*\) v.*/\1/p' "$demo/export.txt" | head -1)
if [ -z "$export_id" ] || ! grep -q 'checker: fail' "$demo/export.txt"; then
  echo "walk-through: expected the checker to fail the small cells of export request" >&2
  exit 1
fi
echo "(the checker failed cells under the threshold of 10 patients: see \"threshold\" above)"

say "alice suppresses the small cells (kura.crosstab(..., suppress=True)) and resubmits"
show timeout 300 "$kura" run -- python3 /home/alice/table1.py --suppress
timeout 60 "$kura" run -- cat /outputs/patients_by_age_sex.spec.json >"$demo/patients_by_age_sex.spec.json"
show timeout 120 "$kura" export resubmit "$export_id" /outputs/patients_by_age_sex.csv \
  --spec "$demo/patients_by_age_sex.spec.json" | tee "$demo/export.txt"
if ! grep -q "^export $export_id v2 .*checker: \(pass\|review\).*reviewers needed: 2" "$demo/export.txt"; then
  echo "walk-through: expected version 2 to pass the checker and need two reviewers" >&2
  exit 1
fi

say "refused: the author reviewing her own request; downloading before approval"
refused "$kura" review vote "$export_id" patients_by_age_sex.csv approve
refused timeout 60 "$kura" export download "$export_id" --to "$demo/release-early"

for reviewer in rei ken; do
  say "reviewer $reviewer at terminal vdi-01: log in, look, approve (blinded)"
  export KURA_CONFIG_DIR=$demo/terminal-$reviewer
  totp_login "$reviewer"
  show "$kura" review list
  # The request as the reviewer reads it; its files are saved under --save, the whole
  # output in review-$reviewer.txt.
  show "$kura" review show "$export_id" --save "$demo/review-$reviewer" |
    tee "$demo/review-$reviewer.txt" | review_excerpt
  if [ "$reviewer" = rei ]; then
    # Version 1, as the checker failed it: the flagged rows are marked `!!` in the margin.
    show "$kura" review show "$export_id" --version 1 --save "$demo/review-$reviewer-v1" |
      tee "$demo/review-$reviewer-v1.txt" | review_excerpt
    show "$kura" review comment "$export_id" --file patients_by_age_sex.csv \
      "Checked against the spec: suppressed cells are under 10 and no margin recovers them."
  fi
  show "$kura" review vote "$export_id" patients_by_age_sex.csv approve \
    --comment "suppressed cells under 10; no margins to recover them from" | sed -n 1,5p
done

say "alice downloads the signed release and verifies it offline"
export KURA_CONFIG_DIR=$demo/terminal-alice-dedicated
show "$kura" export show "$export_id" | sed -n 1,6p
show timeout 120 "$kura" export download "$export_id" --to "$demo/release"
show ls -R "$demo/release"
show cat "$demo/release/files/patients_by_age_sex.csv"
show "$kura" verify "$demo/release" --key "$pki/release.pub"

say "operator: the audit log, hash-chained"
show adm audit verify

cat <<EOF

kura is running: gateway 127.0.0.1:$port (pid $(cat "$demo/gateway.pid")), node-1 (pid $(cat "$demo/node.pid")).
Try it by hand, as alice at terminal vdi-01:

  export KURA_CONFIG_DIR=$demo/terminal-alice
  $kura login alice --totp \$(python3 $demo/totp.py $demo/alice.enrol)
  $kura workspace list
  $kura shell                      # an interactive shell in $workspace
  $kura run -- python3 /home/alice/analysis.py
  # at the dedicated terminal, in $linked_workspace (the pseudonymized schema):
  KURA_CONFIG_DIR=$demo/terminal-alice-dedicated $kura run -- python3 -c 'import kura; help(kura.table)'

Stop it with: KURA_CONFIG_DIR=$demo/terminal-alice-dedicated $kura workspace close
              KURA_CONFIG_DIR=$demo/terminal-alice $kura workspace close
              kill \$(cat $demo/node.pid) \$(cat $demo/gateway.pid)
EOF
