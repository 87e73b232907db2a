#!/usr/bin/env python3
"""Rebound's HTTP API the way a Python service uses it: the standard library only.

Run by test/integration/http-client.test.ts against a real API (README "HTTP API"):

    REBOUND_URL=http://127.0.0.1:3025 REBOUND_KEY=rbk_... python3 test/clients/python_client.py ORDER

It sends a message with an Idempotency-Key, sends it again, sends an invalid one, polls the
status until the message is final (bounded), calls without a key, and prints one JSON line
with what it saw.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = os.environ["REBOUND_URL"].rstrip("/")
KEY = os.environ["REBOUND_KEY"]
ORDER = sys.argv[1] if len(sys.argv) > 1 else "1234"
FINAL_STATES = {"delivered", "partially_delivered", "failed", "cancelled"}


def call(method, path, body=None, key=KEY, headers=None):
    """One request; answers (status, content type, parsed JSON body). 4xx and 5xx are answers too."""
    request = urllib.request.Request(BASE + path, method=method, headers=dict(headers or {}))
    if key is not None:
        request.add_header("Authorization", "Bearer " + key)
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=30) as response:
            return response.status, response.headers.get("Content-Type"), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), json.loads(error.read() or b"null")


def main():
    message = {
        "from": "Shop <shop@example.com>",
        "to": ["alice@example.org"],
        "subject": "Your receipt",
        "text": "Thank you for your order.",
        "profile": "urgent",
    }
    idempotency = {"Idempotency-Key": "order-%s-receipt" % ORDER}
    seen = {}

    status, _, body = call("POST", "/v1/messages", message, headers=idempotency)
    seen["send"] = {"status": status, "messageId": body.get("messageId"), "state": body.get("state")}

    # A retry after a timeout is safe: the same key and content answer the first message.
    status, _, body = call("POST", "/v1/messages", message, headers=idempotency)
    seen["repeat"] = {"status": status, "messageId": body.get("messageId")}

    status, content_type, body = call("POST", "/v1/messages", dict(message, to=["bob@"]), headers={"Idempotency-Key": "order-%s-bad" % ORDER})
    seen["invalid"] = {"status": status, "contentType": content_type, "type": body.get("type"), "fields": [e["field"] for e in body.get("errors", [])]}

    message_id = seen["send"]["messageId"]
    state, polls = None, 0
    while polls < 240 and state not in FINAL_STATES:
        polls += 1
        status, _, body = call("GET", "/v1/messages/" + message_id)
        state = body.get("state") if status == 200 else None
        if state not in FINAL_STATES:
            time.sleep(0.5)
    seen["final"] = {"state": state, "polls": polls, "recipients": [r["state"] for r in body.get("recipients", [])]}

    status, content_type, body = call("GET", "/v1/messages/" + message_id, key=None)
    seen["noKey"] = {"status": status, "contentType": content_type, "type": body.get("type")}

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
