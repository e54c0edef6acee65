#!/usr/bin/env python3
"""The audit's compressed-bomb probe (docs/RELIABILITY.md, issue "hostile input"), run against a
viewer binary: eight concurrent OTLP/HTTP requests of ~16 KB of gzip each that inflate to 16 MB
(four of `0a 00` repeated, eight million empty `resource_spans`; four of
`{"resourceSpans":[{},{},...]}`), while a valid request is sent and timed. Prints each bomb's
status, the valid request's latency and status, and the viewer's peak resident memory (VmHWM).

    python3 bench/hostile.py target/release/viewer [ROUNDS]
    python3 bench/hostile.py target/release/viewer bodies   # 48 connections each holding a
                                                            # 15 MiB body it never finishes

Only the Python standard library; loopback only; the viewer is started and stopped here.
"""

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vm(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def post(url, body, content_type, gz):
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", content_type)
    if gz:
        req.add_header("Content-Encoding", "gzip")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:  # connection reset, timeout
        return f"error: {e}"


def valid_request():
    # One span, OTLP/JSON.
    return json.dumps({
        "resourceSpans": [{
            "scopeSpans": [{
                "spans": [{
                    "traceId": "0102030405060708090a0b0c0d0e0f10",
                    "spanId": "0102030405060708",
                    "name": "valid",
                    "startTimeUnixNano": "1",
                    "endTimeUnixNano": "2",
                }]
            }]
        }]
    }).encode()


def start(binary):
    grpc, http = free_port(), free_port()
    proc = subprocess.Popen(
        [binary, "--headless", "--grpc-addr", f"127.0.0.1:{grpc}", "--http-addr", f"127.0.0.1:{http}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", http), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, http


def bodies(binary):
    """48 HTTP/1.1 connections each send 15 MiB of a 16 MiB body, then stall."""
    proc, http = start(binary)
    chunk = b"\0" * (1 << 20)
    answered = []

    def one():
        s = socket.create_connection(("127.0.0.1", http))
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
                  b"Content-Length: 16777216\r\n\r\n")
        try:
            for _ in range(15):
                s.sendall(chunk)
            s.settimeout(10)
            answered.append(s.recv(64).split(b"\r\n")[0].decode())
        except OSError as e:
            answered.append(f"error: {e.__class__.__name__}")
        finally:
            s.close()

    threads = [threading.Thread(target=one) for _ in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak = vm(proc.pid, "VmHWM")
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    counts = {}
    for a in answered:
        counts[a] = counts.get(a, 0) + 1
    print(f"48 stalled 15 MiB bodies: answers {counts}; peak RSS {peak / 2**20:.0f} MiB")


def main():
    binary = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "bodies":
        bodies(binary)
        return
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    size = 16 * 1024 * 1024 - 16
    pb_bomb = gzip.compress(b"\x0a\x00" * (size // 2), 9)
    body = bytearray(b'{"resourceSpans":[{}')
    while len(body) < size:
        body += b",{}"
    body += b"]}"
    json_bomb = gzip.compress(bytes(body), 9)
    print(f"bombs: protobuf {len(pb_bomb)} B gzip -> {size} B; JSON {len(json_bomb)} B gzip -> {len(body)} B")
    for r in range(rounds):
        proc, http = start(binary)
        base_rss = vm(proc.pid, "VmRSS")
        url = f"http://127.0.0.1:{http}"
        results = []
        threads = []
        for i in range(8):
            if i % 2 == 0:
                args = (f"{url}/v1/traces", pb_bomb, "application/x-protobuf", True)
            else:
                args = (f"{url}/v1/logs", json_bomb, "application/json", True)
            t = threading.Thread(target=lambda a=args: results.append(post(*a)))
            threads.append(t)
            t.start()
        time.sleep(0.05)
        began = time.monotonic()
        valid = post(f"{url}/v1/traces", valid_request(), "application/json", False)
        waited = (time.monotonic() - began) * 1000
        for t in threads:
            t.join()
        peak = vm(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(f"round {r + 1}: bombs answered {sorted(map(str, results))}; valid request {valid} "
              f"in {waited:.0f} ms; peak RSS {peak / 2**20:.0f} MiB (at start {base_rss / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
