#!/usr/bin/env bash
# kura shell against OpenSSH on the same machine, in one run: login-to-first-prompt time,
# keystroke round trip (median and p99 over typed bytes echoed back) and bulk output
# throughput (a ~200 MB text file through `cat`), both driven through a real PTY by
# pty_session.py. Uses the demo stack (deploy/demo/30-walkthrough.sh; started here when it is
# not running) and an sshd on 127.0.0.1:${KURA_BENCH_SSH_PORT:-2222} with throwaway keys.
# Prints the figures and kura/OpenSSH ratios. Needs root, python3 and openssh-server.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KURA_BUILD_DIR:-$root/build}
demo=${KURA_DEMO_DIR:-$root/.kura-demo}
ssh_port=${KURA_BENCH_SSH_PORT:-2222}
keystrokes=${KURA_BENCH_KEYSTROKES:-300}
bulk_mb=${KURA_BENCH_BULK_MB:-200}
kura=$build/cli/kura
driver=$root/bench/gateway/pty_session.py

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if ! alive "$demo/gateway.pid" || ! alive "$demo/node.pid"; then
  echo "starting the demo stack first"
  bash "$root/deploy/demo/30-walkthrough.sh" >/dev/null
fi
export KURA_CONFIG_DIR=$demo/terminal-alice

work=$(mktemp -d /tmp/kura-bench-ssh-XXXXXX)
sshd_pid=""
cleanup() {
  [ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null || true
  KURA_CONFIG_DIR=$demo/terminal-alice timeout 20 "$kura" workspace close >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The same bulk file on both sides: base64 text, so that a terminal passes it unchanged.
raw_bytes=$((bulk_mb * 1000000 * 3 / 4))
head -c "$raw_bytes" /dev/urandom | base64 -w 76 >"$work/bulk.txt"
bulk_bytes=$(stat -c %s "$work/bulk.txt")

# kura: log in, open a workspace, put the same file in the project home.
# Each TOTP code works once: wait for a fresh 30 s step, as a person would for a new code.
sleep $((30 - $(date +%s) % 30))
login_start=$(date +%s%N)
"$kura" login alice --totp "$(python3 "$demo/totp.py" "$demo/alice.enrol")" >/dev/null
login_ms=$(( ($(date +%s%N) - login_start) / 1000000 ))
"$kura" workspace open cancer-2026 --schema claims --cpus 1 --memory 1 >/dev/null
timeout 300 "$kura" run -- sh -c "head -c $raw_bytes /dev/urandom | base64 -w 76 > /home/alice/bulk.txt"

# OpenSSH: a private sshd on loopback with throwaway host and user keys.
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/user_key"
cp "$work/user_key.pub" "$work/authorized_keys"
cat >"$work/sshd_config" <<CFG
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $work/sshd.pid
CFG
/usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do
  ssh -p "$ssh_port" -i "$work/user_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o BatchMode=yes "$(id -un)@127.0.0.1" true 2>/dev/null && break
  sleep 0.1
done

echo "kura shell:"
kura_json=$(BULK_BYTES=$bulk_bytes timeout 600 python3 "$driver" --keystrokes "$keystrokes" \
  --bulk-file /home/alice/bulk.txt --timeout 500 -- "$kura" shell)
echo "  $kura_json"
echo "OpenSSH (ssh -tt to sshd on 127.0.0.1:$ssh_port):"
ssh_json=$(BULK_BYTES=$bulk_bytes timeout 600 python3 "$driver" --keystrokes "$keystrokes" \
  --bulk-file "$work/bulk.txt" --timeout 500 -- ssh -tt -p "$ssh_port" -i "$work/user_key" \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
  "$(id -un)@127.0.0.1")
echo "  $ssh_json"

python3 - "$kura_json" "$ssh_json" "$login_ms" <<'PY'
import json, sys
k, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
# kura's login (terminal certificate + TOTP) is its own command before `kura shell`; count it.
k["login_to_prompt_ms"] += float(sys.argv[3])
def row(name, key, unit, better):
    ratio = k[key] / s[key]
    verdict = "kura better or equal" if (ratio <= 1 if better == "lower" else ratio >= 1) else "OpenSSH better"
    print(f"{name:44s} kura {k[key]:10.1f} {unit:6s} OpenSSH {s[key]:10.1f} {unit:6s} ratio kura/ssh {ratio:5.2f}  ({better} is better; {verdict})")
row("login to first prompt (kura: login+shell)", "login_to_prompt_ms", "ms", "lower")
row("keystroke round trip (median)", "keystroke_rtt_us_median", "us", "lower")
row("keystroke round trip (p99)", "keystroke_rtt_us_p99", "us", "lower")
row(f"bulk output ({k['bulk_bytes']/1e6:.0f} MB via cat)", "bulk_mb_per_s", "MB/s", "higher")
PY
