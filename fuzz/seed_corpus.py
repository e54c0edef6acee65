#!/usr/bin/env python3
"""Writes the seed corpus for the fuzz targets: a few small, valid OTLP trace export requests,
as protobuf (corpus/otlp_protobuf/) and as OTLP/JSON (corpus/otlp_json/).

No dependencies: the protobuf wire format is written by hand from the OTLP field numbers.
Run from fuzz/: python3 seed_corpus.py
"""

import json
import os
import struct

# ---- protobuf wire format ----


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_fixed64(field, n):
    return key(field, 1) + struct.pack("<Q", n)


def f_double(field, x):
    return key(field, 1) + struct.pack("<d", x)


def f_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return key(field, 2) + varint(len(b)) + b


# ---- OTLP messages (opentelemetry/proto/{common,resource,trace}/v1) ----


def any_value(v):
    if isinstance(v, bool):
        return f_varint(2, int(v))
    if isinstance(v, int):
        return f_varint(3, v)
    if isinstance(v, float):
        return f_double(4, v)
    if isinstance(v, bytes):
        return f_bytes(7, v)
    if isinstance(v, list):
        return f_bytes(5, b"".join(f_bytes(1, any_value(x)) for x in v))
    if isinstance(v, dict):
        return f_bytes(6, b"".join(f_bytes(1, key_value(k, x)) for k, x in v.items()))
    return f_bytes(1, v)


def key_value(k, v):
    return f_bytes(1, k) + f_bytes(2, any_value(v))


def attrs(field, d):
    return b"".join(f_bytes(field, key_value(k, v)) for k, v in d.items())


def span_pb(s):
    out = f_bytes(1, s["trace_id"]) + f_bytes(2, s["span_id"])
    if s.get("parent"):
        out += f_bytes(4, s["parent"])
    out += f_bytes(5, s["name"]) + f_varint(6, s.get("kind", 1))
    out += f_fixed64(7, s["start"]) + f_fixed64(8, s["end"])
    out += attrs(9, s.get("attrs", {}))
    for e in s.get("events", []):
        out += f_bytes(11, f_fixed64(1, e["time"]) + f_bytes(2, e["name"]) + attrs(3, e.get("attrs", {})))
    for link in s.get("links", []):
        out += f_bytes(13, f_bytes(1, link["trace_id"]) + f_bytes(2, link["span_id"]))
    if "status" in s:
        code, msg = s["status"]
        out += f_bytes(15, f_bytes(2, msg) + f_varint(3, code))
    return out


def request_pb(resources):
    out = b""
    for service, scopes in resources:
        resource = attrs(1, {"service.name": service, "host.name": "box"})
        rs = f_bytes(1, resource)
        for scope, spans in scopes:
            ss = f_bytes(1, f_bytes(1, scope) + f_bytes(2, "1.0"))
            ss += b"".join(f_bytes(2, span_pb(s)) for s in spans)
            rs += f_bytes(2, ss)
        out += f_bytes(1, rs)
    return out


# ---- OTLP/JSON: hex ids, camelCase, 64-bit integers as strings ----


def any_value_json(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, bytes):
        import base64

        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return {"arrayValue": {"values": [any_value_json(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": attrs_json(v)}}
    return {"stringValue": v}


def attrs_json(d):
    return [{"key": k, "value": any_value_json(v)} for k, v in d.items()]


def span_json(s):
    out = {
        "traceId": s["trace_id"].hex(),
        "spanId": s["span_id"].hex(),
        "name": s["name"],
        "kind": s.get("kind", 1),
        "startTimeUnixNano": str(s["start"]),
        "endTimeUnixNano": str(s["end"]),
        "attributes": attrs_json(s.get("attrs", {})),
    }
    if s.get("parent"):
        out["parentSpanId"] = s["parent"].hex()
    if s.get("events"):
        out["events"] = [
            {"timeUnixNano": str(e["time"]), "name": e["name"], "attributes": attrs_json(e.get("attrs", {}))}
            for e in s["events"]
        ]
    if s.get("links"):
        out["links"] = [{"traceId": x["trace_id"].hex(), "spanId": x["span_id"].hex()} for x in s["links"]]
    if "status" in s:
        out["status"] = {"code": s["status"][0], "message": s["status"][1]}
    return out


def request_json(resources):
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": attrs_json({"service.name": service, "host.name": "box"})},
                "scopeSpans": [
                    {"scope": {"name": scope, "version": "1.0"}, "spans": [span_json(s) for s in spans]}
                    for scope, spans in scopes
                ],
            }
            for service, scopes in resources
        ]
    }


# ---- the seeds ----


def tid(n):
    return n.to_bytes(16, "big")


def sid(n):
    return n.to_bytes(8, "big")


T0 = 1_700_000_000_000_000_000
MAX = (1 << 64) - 1

SEEDS = {
    # A small healthy trace across two services, with events, a link and an error.
    "two_services": [
        (
            "api",
            [
                (
                    "axum",
                    [
                        {"trace_id": tid(1), "span_id": sid(1), "name": "GET /order", "kind": 2,
                         "start": T0, "end": T0 + 5_000_000,
                         "attrs": {"http.method": "GET", "http.status_code": 200, "ratio": 0.5}},
                        {"trace_id": tid(1), "span_id": sid(2), "parent": sid(1), "name": "call db",
                         "kind": 3, "start": T0 + 1_000, "end": T0 + 4_000_000,
                         "events": [{"time": T0 + 2_000, "name": "retry", "attrs": {"n": 1}}],
                         "links": [{"trace_id": tid(9), "span_id": sid(9)}]},
                    ],
                )
            ],
        ),
        (
            "db",
            [
                (
                    "sqlx",
                    [
                        {"trace_id": tid(1), "span_id": sid(3), "parent": sid(2), "name": "SELECT",
                         "kind": 2, "start": T0 + 2_000, "end": T0 + 3_000_000,
                         "attrs": {"db.rows": [1, 2, 3], "db.opts": {"ro": True}, "raw": b"\x00\x01"},
                         "status": (2, "timeout")},
                    ],
                )
            ],
        ),
    ],
    # The awkward ones: orphan, self-parent, a two-span cycle, extreme and backwards timestamps,
    # a duplicate span id, escape sequences in names.
    "awkward": [
        (
            "weird\x1b[31m",
            [
                (
                    "s",
                    [
                        {"trace_id": tid(2), "span_id": sid(1), "parent": sid(77), "name": "orphan",
                         "start": 0, "end": MAX},
                        {"trace_id": tid(2), "span_id": sid(2), "parent": sid(2), "name": "self",
                         "start": MAX, "end": 0},
                        {"trace_id": tid(2), "span_id": sid(3), "parent": sid(4), "name": "cycle a",
                         "start": 5, "end": 6},
                        {"trace_id": tid(2), "span_id": sid(4), "parent": sid(3), "name": "cycle b",
                         "start": 6, "end": 7},
                        {"trace_id": tid(2), "span_id": sid(4), "parent": sid(3), "name": "dup",
                         "start": 6, "end": 7},
                        {"trace_id": tid(3), "span_id": sid(1), "name": "a\x1b]0;title\x07\u202e",
                         "start": T0, "end": T0},
                    ],
                )
            ],
        )
    ],
    # Invalid ids the boundary must reject: zero trace id, short span id, bad parent length.
    "invalid_ids": [
        (
            "bad",
            [
                (
                    "s",
                    [
                        {"trace_id": tid(0), "span_id": sid(1), "name": "zero trace", "start": 1, "end": 2},
                        {"trace_id": tid(4), "span_id": b"\x01\x02", "name": "short span", "start": 1, "end": 2},
                        {"trace_id": tid(4), "span_id": sid(5), "parent": b"\x01", "name": "short parent",
                         "start": 1, "end": 2},
                        {"trace_id": tid(4), "span_id": sid(6), "name": "fine", "start": 1, "end": 2},
                    ],
                )
            ],
        )
    ],
}


def main():
    for target in ("otlp_protobuf", "otlp_json"):
        os.makedirs(os.path.join("corpus", target), exist_ok=True)
    for name, resources in SEEDS.items():
        with open(os.path.join("corpus", "otlp_protobuf", f"seed_{name}"), "wb") as f:
            f.write(request_pb(resources))
        with open(os.path.join("corpus", "otlp_json", f"seed_{name}"), "w", encoding="utf-8") as f:
            json.dump(request_json(resources), f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
