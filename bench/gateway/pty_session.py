#!/usr/bin/env python3
"""Drives an interactive terminal session (kura shell or ssh -tt) through a real PTY and
measures what a person at it feels: time from start to the first prompt, keystroke round trip
(one byte typed until its echo comes back), and bulk output throughput (cat of a large file).
Prints one JSON object. Every wait is bounded."""
import json, os, pty, select, sys, time, argparse


def read_until(fd, marker, deadline, sink=None):
    buf = b""
    while marker not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"waited for {marker!r}; last output {buf[-200:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise EOFError(f"session ended waiting for {marker!r}; last output {buf[-200:]!r}")
        buf += chunk
        if sink is not None:
            sink[0] += len(chunk)
            buf = buf[-4096:]
    return buf


def drain_until_eof(fd, deadline):
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
        if not r:
            continue
        try:
            if not os.read(fd, 1 << 16):
                return
        except OSError:  # EIO: the session closed the terminal
            return


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--keystrokes", type=int, default=200)
    p.add_argument("--bulk-file", default="")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    start = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    result = {}
    try:
        deadline = start + a.timeout
        # Any shell prompt ends in "$ " or "# ".
        buf = b""
        while not (buf.rstrip(b" ").endswith(b"$") or buf.rstrip(b" ").endswith(b"#")):
            buf += read_until(fd, b" ", deadline)
        result["login_to_prompt_ms"] = (time.monotonic() - start) * 1000
        os.write(fd, b"PS1='KP> '; stty -echoctl\n")
        read_until(fd, b"KP> ", deadline)
        samples = []
        for i in range(a.keystrokes):
            ch = bytes([ord("a") + i % 26])
            t0 = time.perf_counter()
            os.write(fd, ch)
            read_until(fd, ch, deadline)
            samples.append((time.perf_counter() - t0) * 1e6)
        os.write(fd, b"\x15")  # Ctrl-U: clear the typed line
        samples.sort()
        if samples:
            result["keystroke_rtt_us_median"] = samples[len(samples) // 2]
            result["keystroke_rtt_us_p99"] = samples[int(len(samples) * 0.99) - 1]
        if a.bulk_file:
            os.write(fd, b"\n")
            read_until(fd, b"KP> ", deadline)
            size = int(os.environ.get("BULK_BYTES", "0"))
            os.write(fd, f"cat {a.bulk_file}; echo BULK''DONE\n".encode())
            counted = [0]
            t0 = time.perf_counter()
            read_until(fd, b"BULKDONE", deadline, sink=counted)
            secs = time.perf_counter() - t0
            result["bulk_bytes"] = counted[0]
            result["bulk_seconds"] = secs
            result["bulk_mb_per_s"] = counted[0] / secs / 1e6
        os.write(fd, b"exit\n")
        # Let the shell end before the client is killed: kura keeps a detached shell, and the
        # next run must find a fresh one (it waits for a prompt).
        drain_until_eof(fd, time.monotonic() + 5)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
