#!/usr/bin/env bash
# Demo: the sandbox. A researcher's Python script runs in kura-sandbox over a read-only data
# directory, writes its result to /outputs, and tries what untrusted code must not be able to
# do; each attempt is printed with what stopped it. Needs root (namespaces and cgroups).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KURA_BUILD_DIR:-$root/build}
sandbox=$build/sandbox/kura-sandbox
work=$(mktemp -d "${TMPDIR:-/tmp}/kura-demo-sandbox.XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "10-sandbox: kura-sandbox needs root (user, mount and network namespaces, cgroups)" >&2
  exit 1
fi

say "sandbox: a small read-only data directory (synthetic visits per patient)"
mkdir -p "$work/data" "$work/outputs"
cat > "$work/data/visits.csv" <<'CSV'
patient,prefecture,visits
p001,13,4
p002,13,2
p003,27,7
p004,27,1
p005,31,3
CSV
chmod 0755 "$work" "$work/data"
chmod 0666 "$work/data/visits.csv"  # only the read-only mount protects it
chown 101000:101000 "$work/outputs"  # the sandbox user (uid 1000 inside, host uid 101000)
cat "$work/data/visits.csv"

cat > "$work/analysis.py" <<'PY'
import csv, ctypes, errno, os, socket

def attempt(what, action):
    try:
        action()
        print(f"  ALLOWED  {what}")
    except OSError as e:
        print(f"  blocked  {what}: {errno.errorcode.get(e.errno, e.errno)} ({e.strerror})")

rows = list(csv.DictReader(open("/data/visits.csv")))
by_prefecture = {}
for r in rows:
    by_prefecture[r["prefecture"]] = by_prefecture.get(r["prefecture"], 0) + int(r["visits"])
with open("/outputs/visits_by_prefecture.csv", "w") as out:
    out.write("prefecture,visits\n")
    for prefecture, visits in sorted(by_prefecture.items()):
        out.write(f"{prefecture},{visits}\n")
print(f"read {len(rows)} rows from /data, wrote /outputs/visits_by_prefecture.csv")
print(f"running as uid {os.getuid()} in {os.uname().nodename}; processes visible: "
      f"{sorted(int(p) for p in os.listdir('/proc') if p.isdigit())}")

print("what the sandbox refused:")
attempt("write to the data (/data/visits.csv)", lambda: open("/data/visits.csv", "a").write("x\n"))
attempt("read /etc/shadow", lambda: open("/etc/shadow").read())
attempt("list /home", lambda: os.listdir("/home"))
attempt("write outside /outputs (/usr/evil)", lambda: open("/usr/evil", "w"))
attempt("open a TCP socket (network)",
        lambda: socket.create_connection(("1.1.1.1", 443), timeout=2))
attempt("open a netlink socket", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW))
attempt("become root (setuid 0)", lambda: os.setuid(0))

libc = ctypes.CDLL(None, use_errno=True)
def syscall(name, *args):
    def call():
        if getattr(libc, name)(*args) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
    return call
attempt("create a user namespace (unshare)", syscall("unshare", 0x10000000))
attempt("mount a tmpfs over /outputs", syscall("mount", b"none", b"/outputs", b"tmpfs", 0, None))
attempt("ptrace its init (PID 1)", syscall("ptrace", 16, 1, None, None))
PY
chmod 0644 "$work/analysis.py"

say "kura-sandbox run --host-rootfs: the script reads /data (read-only) and writes /outputs"
echo "\$ kura-sandbox run --host-rootfs --ro-bind $work/data /data --bind $work/outputs /outputs \\"
echo "    --ro-bind $work/analysis.py /analysis.py --memory 512M --pids 64 --wall-time 60 \\"
echo "    --env PATH=/usr/bin:/bin -- python3 /analysis.py"
"$sandbox" run --host-rootfs \
  --ro-bind "$work/data" /data --bind "$work/outputs" /outputs \
  --ro-bind "$work/analysis.py" /analysis.py \
  --memory 512M --pids 64 --wall-time 60 --env PATH=/usr/bin:/bin -- python3 /analysis.py

say "the output, on the host"
cat "$work/outputs/visits_by_prefecture.csv"
echo "data unchanged: $(sha256sum < "$work/data/visits.csv" | cut -c1-16)..."

say "limits: a memory bomb under --memory 64M is OOM-killed (exit status 250)"
set +e
"$sandbox" run --host-rootfs --memory 64M -- python3 -c \
  'a = []
while True: a.append(b"x" * (8 << 20))'
echo "exit status: $?"

say "limits: a fork bomb under --pids 16 runs out of processes"
"$sandbox" run --host-rootfs --pids 16 -- python3 -c '
import os, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except BlockingIOError:
    print(f"fork refused after {n} processes (EAGAIN); the sandbox ends and takes them along")'
echo "exit status: $?"

say "limits: --wall-time 1 ends a job that never finishes (exit status 251)"
"$sandbox" run --host-rootfs --wall-time 1 -- /bin/sleep 600
echo "exit status: $?"

say "setup errors name the step and errno (exit status 252)"
"$sandbox" run --host-rootfs -- /no/such/program
echo "exit status: $?"
set -e
