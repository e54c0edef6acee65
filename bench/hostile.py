#!/usr/bin/env python3
"""The audit's compressed-bomb probe (docs/RELIABILITY.md, issue "hostile input"), run against a
viewer binary: eight concurrent OTLP/HTTP requests of ~16 KB of gzip each that inflate to 16 MB
(four of `0a 00` repeated, eight million empty `resource_spans`; four of
`{"resourceSpans":[{},{},...]}`), while a valid request is sent and timed. Prints each bomb's
status, the valid request's latency and status, and the viewer's peak resident memory (VmHWM).

    python3 bench/hostile.py target/release/viewer [ROUNDS]

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


def main():
    binary = sys.argv[1]
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
