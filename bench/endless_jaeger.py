#!/usr/bin/env python3
"""A Jaeger query service whose answers never end, to measure the viewer's memory against it
(docs/RELIABILITY.md, issue 26 item 2).

  endless_jaeger.py http PORT [CAP]   /api/v3/services answers `{"services":["aaaa…` in 64 KiB
                                      chunks (chunked transfer encoding), never closing the string
  endless_jaeger.py grpc PORT [CAP]   every api_v3 call answers a stream of TracesData messages of
                                      60 spans with a 1,000-byte attribute each (~64 KiB), no end

Each answer stops all the same after CAP bytes (default 1 GiB), so a client that reads everything
does not take the machine with it; what each answer sent is printed when it ends. The gRPC mode
needs grpcio and opentelemetry-proto (the interop tests' venv, target/test-venv, has both).
"""

import socket
import sys
import threading

MODE, PORT = sys.argv[1], int(sys.argv[2])
CAP = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 30


def serve_http():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", PORT))
    srv.listen(8)
    chunk = b"a" * 65536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"

    def answer(c):
        sent = 0
        try:
            c.recv(65536)
            c.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            head = b'{"services":["'
            c.sendall(b"%x\r\n" % len(head) + head + b"\r\n")
            while sent < CAP:
                c.sendall(frame)
                sent += len(chunk)
        except OSError:
            pass
        print("sent", sent, flush=True)
        c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()


def serve_grpc():
    from concurrent import futures

    import grpc
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, TracesData

    spans = [
        Span(
            trace_id=b"\x01" * 16,
            span_id=i.to_bytes(8, "big"),
            name=f"span {i}",
            start_time_unix_nano=1_000_000,
            end_time_unix_nano=2_000_000,
            attributes=[KeyValue(key="pad", value=AnyValue(string_value="x" * 1000))],
        )
        for i in range(1, 61)
    ]
    message = TracesData(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()

    def endless(_request, _context):
        sent = 0
        try:
            while sent < CAP:
                yield message
                sent += len(message)
        finally:
            print("sent", sent, flush=True)

    handler = grpc.method_handlers_generic_handler(
        "jaeger.api_v3.QueryService",
        {
            name: grpc.unary_stream_rpc_method_handler(endless)
            for name in ("FindTraces", "GetTrace")
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{PORT}")
    server.start()
    server.wait_for_termination()


serve_http() if MODE == "http" else serve_grpc()
