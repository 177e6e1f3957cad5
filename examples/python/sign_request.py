#!/usr/bin/env python3
"""Signing a request to the Kairos API with an API key, in Python (standard library only).

    python3 examples/python/sign_request.py http://127.0.0.1:8080 KEY_ID SECRET [PATH]

KAIROS-SIGNATURE is url-safe base64 (with padding) of HMAC-SHA256, keyed with the decoded
secret, over timestamp "\\n" METHOD "\\n" path-with-query "\\n" body; KAIROS-TIMESTAMP is
Unix milliseconds. The clock skew is measured with GET /v1/time first, as a client should.
"""
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request


def sign(secret_b64: str, timestamp_ms: int, method: str, path_and_query: str, body: bytes) -> str:
    secret = base64.urlsafe_b64decode(secret_b64)
    message = f"{timestamp_ms}\n{method}\n{path_and_query}\n".encode() + body
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


def main() -> int:
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    base, key_id, secret = sys.argv[1:4]
    path = sys.argv[4] if len(sys.argv) > 4 else "/v1/account/limits"

    with urllib.request.urlopen(f"{base}/v1/time") as res:
        skew = json.load(res)["epoch_ms"] - int(time.time() * 1000)

    timestamp = int(time.time() * 1000) + skew
    request = urllib.request.Request(f"{base}{path}", method="GET")
    request.add_header("KAIROS-KEY", key_id)
    request.add_header("KAIROS-TIMESTAMP", str(timestamp))
    request.add_header("KAIROS-SIGNATURE", sign(secret, timestamp, "GET", path, b""))
    try:
        with urllib.request.urlopen(request) as res:
            print(res.read().decode())
            return 0
    except urllib.error.HTTPError as err:
        print(err.read().decode(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
