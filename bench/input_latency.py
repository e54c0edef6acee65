#!/usr/bin/env python3
"""Input-to-frame latency of a terminal UI, measured from outside as a person feels it.

Runs the command given after `--` (the viewer, or a peer's terminal UI) on a pseudo-terminal, keeps
a screen model of what it draws (pyte), and every `--interval` seconds types `--key` (`?`) and
times how long until `--expect` (the viewer's help panel) is on the screen, then closes it with
`--close-key`. Prints the number of samples and their 50th, 90th and 99th percentiles and maximum,
in milliseconds.

    input_latency.py --duration 120 --pid-file target/viewer.pid -- target/release/viewer ...

With `--before CMD --listed TEXT`, it first runs CMD (a burst of load ending with one marked
trace) and times from CMD's exit (the last send acknowledged) until TEXT (the marked trace's
service) is on the screen. With `--during CMD`, CMD (a steady load) runs while keys are typed.

The time runs from the write to the terminal to the moment the last byte of the frame that shows
the panel has been read back, so it includes the viewer's whole path: reading the key, the
action, drawing, and writing the frame.
"""

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pyte

MARKER = "keys · j/k scroll"  # the start of the help panel's title (viewer/src/tui/help.rs)
COLS, ROWS = 160, 48


class Screen:
    """The child's terminal as drawn so far.

    Bytes are read as they arrive and stamped then; they are parsed into the screen model only
    when waiting for a change, chunk by chunk, so the time of a change is the arrival of the
    chunk that completed it, not the end of parsing (which is slow in Python).
    """

    def __init__(self, fd):
        self.fd = fd
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.closed = False

    def _read(self, timeout):
        """The chunks that arrive within `timeout` (at least one unless none does)."""
        chunks = []
        while True:
            ready, _, _ = select.select([self.fd], [], [], timeout if not chunks else 0.002)
            if not ready:
                return chunks
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return chunks
            chunks.append((time.monotonic(), chunk))

    def drain(self, seconds):
        """Takes in whatever is drawn for `seconds` (a full terminal would block the viewer)."""
        end = time.monotonic() + seconds
        while not self.closed and (left := end - time.monotonic()) > 0:
            for _, chunk in self._read(left):
                self.stream.feed(chunk)

    def shows(self, text):
        return text in "\n".join(self.screen.display)

    def drain_watching(self, seconds, text):
        """Like `drain`, and returns when `text` first came on the screen, if it did."""
        end = time.monotonic() + seconds
        seen = None
        while not self.closed and (left := end - time.monotonic()) > 0:
            for at, chunk in self._read(left):
                self.stream.feed(chunk)
                if seen is None and self.shows(text):
                    seen = at
        return seen

    def wait_for(self, text, shown, timeout):
        """Waits until `text` is (or is no longer) on the screen; returns when it was.

        The screen is not looked at before reading: building pyte's display takes milliseconds,
        and a chunk is stamped when it is read, so looking first would stamp it late."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for at, chunk in self._read(left):
                self.stream.feed(chunk)
                if self.shows(text) == shown:
                    return at
        return None


def percentile(sorted_values, p):
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, required=True, help="seconds of sampling")
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    ap.add_argument("--warm-up", type=float, default=1.0, help="seconds before the first")
    ap.add_argument("--pid-file", help="where to write the viewer's process id")
    ap.add_argument("--key", default="?", help="the key typed (default: ?)")
    ap.add_argument("--expect", default=MARKER, help="the text the key brings on the screen")
    ap.add_argument("--close-key", default="?", help="the key that takes it off again")
    ap.add_argument("--quit-key", default="q", help="the key that ends the program")
    ap.add_argument("--before", help="a shell command run before sampling (a burst of load)")
    ap.add_argument("--listed", help="text to wait for once --before has exited")
    ap.add_argument("--during", help="a shell command run while sampling (a steady load)")
    ap.add_argument(
        "--hold", type=float, default=0.0,
        help="seconds to keep the program drawing after sampling (until killed, for a peer "
        "measured from outside)",
    )
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("the command to run goes after --")

    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.environ["TERM"] = "xterm-256color"
        os.execvp(cmd[0], cmd)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write(f"{pid}\n")
    screen = Screen(fd)
    screen.drain(args.warm_up)
    key, close = args.key.encode(), args.close_key.encode()

    status = 0
    if args.before:
        # Keep reading the screen while the burst runs (a full terminal would stall the UI).
        burst = subprocess.Popen(args.before, shell=True, stdout=sys.stderr)
        seen = None
        while burst.poll() is None:
            at = screen.drain_watching(0.002, args.listed or "\0")
            seen = seen or at
        sent = time.monotonic()
        if burst.returncode != 0:
            print(f"--before failed with {burst.returncode}", file=sys.stderr)
            status = 1
        if args.listed:
            if seen is None:
                seen = screen.wait_for(args.listed, True, 300.0)
            if seen is None:
                print(f"listed: {args.listed!r} never came on the screen")
                status = 1
            else:
                print(
                    f"listed: {max(0.0, seen - sent) * 1000:.1f} ms from the last send's "
                    f"acknowledgement until {args.listed!r} was on the screen"
                )
        sys.stdout.flush()

    during = subprocess.Popen(args.during, shell=True, stdout=sys.stderr) if args.during else None
    samples, missed = [], 0
    end = time.monotonic() + args.duration
    while time.monotonic() < end and not screen.closed:
        t0 = time.monotonic()
        os.write(fd, key)
        shown = screen.wait_for(args.expect, True, 5.0)
        if shown is None:
            missed += 1
        else:
            samples.append((shown - t0) * 1000)
        os.write(fd, close)
        screen.wait_for(args.expect, False, 5.0)
        screen.drain(args.interval)
    if during is not None:
        during.terminate()
        during.wait()
    screen.drain(args.hold)

    try:
        os.write(fd, args.quit_key.encode())
    except OSError:
        pass  # it has gone already
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        screen.drain(0.05)
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    if args.duration <= 0:
        return status
    if not samples:
        print(f"input to frame: no samples ({missed} missed)")
        return 1
    s = sorted(samples)
    print(
        f"input to frame ({args.key!r} typed until {args.expect!r} is on the screen): {len(s)} "
        f"samples, {missed} missed; p50 {percentile(s, 50):.1f} ms, p90 {percentile(s, 90):.1f} ms, "
        f"p99 {percentile(s, 99):.1f} ms, max {s[-1]:.1f} ms"
    )
    return status if missed == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
