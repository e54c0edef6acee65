#!/usr/bin/env python3
"""Input-to-frame latency of the viewer's terminal UI, measured from outside as a person feels it.

Runs the command given after `--` (the viewer, in its terminal UI) on a pseudo-terminal, keeps a
screen model of what it draws (pyte), and every `--interval` seconds types `?` and times how long
until the help panel is on the screen, then closes it with another key. Prints the number of
samples and their 50th, 90th and 99th percentiles and maximum, in milliseconds.

    input_latency.py --duration 120 --pid-file target/viewer.pid -- target/release/viewer ...

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
import sys
import termios
import time

import pyte

MARKER = "any key closes"  # in the help panel's title (viewer/src/ui/help.rs)
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
            ready, _, _ = select.select([self.fd], [], [], timeout if not chunks else 0)
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

    def shows(self):
        return MARKER in "\n".join(self.screen.display)

    def wait_for(self, shown, timeout):
        """Waits until the marker is (or is no longer) on the screen; returns when it was."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            for at, chunk in self._read(left):
                self.stream.feed(chunk)
                if self.shows() == shown:
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

    samples, missed = [], 0
    end = time.monotonic() + args.duration
    while time.monotonic() < end and not screen.closed:
        t0 = time.monotonic()
        os.write(fd, b"?")
        shown = screen.wait_for(True, 5.0)
        if shown is None:
            missed += 1
        else:
            samples.append((shown - t0) * 1000)
        os.write(fd, b"x")  # any key closes the panel
        screen.wait_for(False, 5.0)
        screen.drain(args.interval)

    os.write(fd, b"q")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        screen.drain(0.05)
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    if not samples:
        print(f"input to frame: no samples ({missed} missed)")
        return 1
    s = sorted(samples)
    print(
        f"input to frame ('?' typed until the help panel is on the screen): {len(s)} samples, "
        f"{missed} missed; p50 {percentile(s, 50):.1f} ms, p90 {percentile(s, 90):.1f} ms, "
        f"p99 {percentile(s, 99):.1f} ms, max {s[-1]:.1f} ms"
    )
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
