#!/usr/bin/env python3
"""Live delivery latency while other transactions are open (issue: "live delivery that no
other transaction can stall").

Against a running server (`--url`) and its database (`--database-url`), registers two users
with a direct session, subscribes one of them over graphql-transport-ws, and for each
condition sends a message every `--interval` seconds for `--seconds` seconds, timing each from
the send's request to its MESSAGE_CREATED event on the socket:

  quiet             nothing else open
  other-database    a write transaction open in another database of the cluster
  idle-foreign      a write on a table messenger does not own, left idle in transaction
  long-report       a long read-only (repeatable read) query in the same database

Prints p50 / p99 / max per condition and how many messages never arrived within 10 s.
Needs `websockets` (pip) and `psql`. Bounded: every wait has a deadline.

  python3 bench/delivery_stall.py --url http://127.0.0.1:8080 \
      --database-url postgres://root@127.0.0.1:5432/messenger --seconds 60
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
import urllib.request
import uuid

import websockets

REGISTER = (
    "mutation($u: String!) { register(input: {username: $u, password: \"password1\", "
    "displayName: $u}) { accessToken user { id } } }"
)
START = "mutation($u: ID!) { startDirectSession(userId: $u) { id } }"
SEND = "mutation($s: ID!, $b: String!) { sendMessage(input: {sessionId: $s, body: $b}) { id } }"
EVENTS = "subscription { events { kind message { id } } }"


def gql(url, query, variables, token=None):
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(url + "/graphql", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(f"{query[:40]}…: {answer['errors']}")
    return answer["data"]


def with_database(url, name):
    head, _, _ = url.rpartition("/")
    return f"{head}/{name}"


class Condition:
    """A psql session holding a transaction (or a query) open until closed."""

    def __init__(self, database_url, setup, begin):
        if setup:
            subprocess.run(["psql", database_url, "-qc", setup], check=True, timeout=30)
        self.database_url = database_url
        self.process = subprocess.Popen(
            ["psql", database_url, "-q"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            env={**os.environ, "PGAPPNAME": "delivery_stall"},
        )
        self.process.stdin.write((begin + "\n").encode())
        self.process.stdin.flush()
        time.sleep(0.5)  # let it start

    def close(self):
        self.process.kill()
        self.process.wait(timeout=10)
        # The server side of a killed psql may still be sleeping: end it.
        subprocess.run(["psql", self.database_url, "-qc",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'delivery_stall'"],
                       check=False, timeout=30, stdout=subprocess.DEVNULL)


def conditions(database_url):
    other = with_database(database_url, "delivery_stall_other")
    admin = with_database(database_url, "postgres")
    subprocess.run(["psql", admin, "-qc", "DROP DATABASE IF EXISTS delivery_stall_other"],
                   check=True, timeout=30)
    subprocess.run(["psql", admin, "-qc", "CREATE DATABASE delivery_stall_other"],
                   check=True, timeout=30)
    yield "quiet", None
    yield "other-database", Condition(
        other, "CREATE TABLE IF NOT EXISTS imports (x int)",
        "BEGIN; INSERT INTO imports VALUES (1);")
    yield "idle-foreign", Condition(
        database_url, "CREATE TABLE IF NOT EXISTS delivery_stall_reports (x int)",
        "BEGIN; INSERT INTO delivery_stall_reports VALUES (1);")
    yield "long-report", Condition(
        database_url, None,
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
        "SELECT count(*) FROM messages; SELECT pg_sleep(3600);")


async def measure(args, token, session, ws):
    latencies, lost = [], 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        sent = await asyncio.to_thread(
            gql, args.url, SEND, {"s": session, "b": f"ping {uuid.uuid4()}"}, token)
        wanted = sent["sendMessage"]["id"]
        arrived = None
        while arrived is None:
            left = started + 10 - time.monotonic()
            if left <= 0:
                break
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), left))
            except asyncio.TimeoutError:
                break
            event = (frame.get("payload") or {}).get("data", {}).get("events") or {}
            if frame.get("type") == "next" and (event.get("message") or {}).get("id") == wanted:
                arrived = time.monotonic()
        if arrived is None:
            lost += 1
        else:
            latencies.append((arrived - started) * 1000)
        await asyncio.sleep(max(0.0, started + args.interval - time.monotonic()))
    return latencies, lost


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    alice = gql(args.url, REGISTER, {"u": f"stall_a_{run}"})["register"]
    bob = gql(args.url, REGISTER, {"u": f"stall_b_{run}"})["register"]
    session = gql(args.url, START, {"u": alice["user"]["id"]}, bob["accessToken"])
    session = session["startDirectSession"]["id"]
    ws_url = args.url.replace("http", "ws", 1) + "/graphql/ws"
    print(f"{'condition':<16} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>5}")
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": "Bearer " + alice["accessToken"]}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "e", "payload": {"query": EVENTS}}))
        await asyncio.sleep(1)
        for name, condition in conditions(args.database_url):
            try:
                latencies, lost = await measure(args, bob["accessToken"], session, ws)
            finally:
                if condition:
                    condition.close()
            if latencies:
                ordered = sorted(latencies)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                print(f"{name:<16} {len(ordered):>5} {statistics.median(ordered):>8.1f} "
                      f"{p99:>8.1f} {ordered[-1]:>8.1f} {lost:>5}", flush=True)
            else:
                print(f"{name:<16} {0:>5} {'-':>8} {'-':>8} {'-':>8} {lost:>5}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
