"""Load and odd content: a burst of requests with cancellations across many documents, huge
documents and binary content, against the real server and model."""

from __future__ import annotations

import hashlib
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, server_env
from tests.reliability.rpc import RawClient

DOCUMENTS = 20
BURST = 1000
RSS_SLACK_MB = 40
"""RSS may end this much above the warmed-up baseline (allocator noise, not a leak)."""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def client() -> Iterator[RawClient]:
    home = Path(tempfile.mkdtemp(prefix="ghostwright-load-"))
    raw = RawClient(server_env(home, GHOSTWRIGHT_MAX_TOKENS="16"))
    raw.initialize()
    assert raw.wait_for_status("ready", "failed")["state"] == "ready"
    yield raw
    assert raw.close() == 0, raw.stderr_lines[-30:]


def burst(client: RawClient, versions: dict[str, int], count: int, rng: random.Random) -> list[int]:
    """`count` completion requests spread over the documents, a typed character before some,
    a cancellation after a quarter of them; returns the request ids."""
    uris = list(versions)
    ids = []
    for number in range(count):
        uri = rng.choice(uris)
        if rng.random() < 0.3:
            versions[uri] += 1
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": versions[uri]},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 9999, "character": 0},
                                "end": {"line": 9999, "character": 0},
                            },
                            "text": rng.choice(["\n#", "\n", "\nx = 1"]),
                        }
                    ],
                },
            )
        request = client.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 14, "character": 15},
                "context": {"triggerKind": 2},
            },
        )
        ids.append(request)
        if number % 4 == 3:
            client.notify("$/cancelRequest", {"id": ids[rng.randrange(len(ids))]})
    return ids


def test_burst_with_cancellations_answers_everything_and_leaks_nothing(
    client: RawClient,
) -> None:
    # Cut after `return sum(` in total_value(): the model has something to write there.
    full = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    text = full[: full.index("return sum(") + len("return sum(")]
    uris = [f"file:///load/doc{i}.py" for i in range(DOCUMENTS)]
    for uri in uris:
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
    rng = random.Random(7)
    versions = dict.fromkeys(uris, 1)
    for request in burst(client, versions, 100, rng):  # warm-up: caches and arenas fill once
        client.wait(request, timeout=300)
    time.sleep(3)
    baseline = rss_mb(client.process.pid)
    started = time.monotonic()
    ids = burst(client, versions, BURST, rng)
    answers = [client.wait(request, timeout=600) for request in ids]
    seconds = time.monotonic() - started
    cancelled = [a for a in answers if "error" in a and a["error"]["code"] == -32800]
    errors = [a for a in answers if "error" in a and a["error"]["code"] != -32800]
    results = [a for a in answers if "result" in a]
    assert not errors, errors[:5]
    assert len(results) + len(cancelled) == BURST
    time.sleep(5)  # outcome timers and background writes settle
    after = rss_mb(client.process.pid)
    print(
        f"{BURST} requests in {seconds:.1f} s: {len(results)} answered "
        f"({sum(1 for a in results if a['result'] and a['result'].get('items'))} with a "
        f"suggestion), {len(cancelled)} cancelled; RSS {baseline:.0f} -> {after:.0f} MB"
    )
    assert after <= baseline + RSS_SLACK_MB, (baseline, after)
    # Diagnostics were published for the newest version of each document only, in order.
    published: dict[str, list[int]] = {}
    for message in client.notifications:
        if message.get("method") == "textDocument/publishDiagnostics":
            params = message["params"]
            if params["uri"] in uris and params.get("version") is not None:
                published.setdefault(params["uri"], []).append(params["version"])
    for uri in uris:
        state = client.call("ghostwright/documentState", {"uri": uri})["result"]
        versions = published.get(uri, [])
        assert versions == sorted(versions), (uri, versions)
        assert not versions or versions[-1] <= state["version"]
    time.sleep(1)  # the last edit's check settles (300 ms) and is published
    for uri in uris:
        state = client.call("ghostwright/documentState", {"uri": uri})["result"]
        last = [
            m["params"]["version"]
            for m in client.notifications
            if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        ]
        assert last and last[-1] == state["version"], (uri, last[-3:], state["version"])


def test_huge_and_binary_documents_are_served(client: RawClient) -> None:
    huge = "x = 1\n" * (10 * 1024 * 1024 // 6)
    binary = bytes(random.Random(1).randrange(256) for _ in range(50_000)).decode("latin-1")
    for uri, text in (("file:///load/huge.py", huge), ("file:///load/blob.bin", binary)):
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
        answer = client.call(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 3, "character": 2},
                "context": {"triggerKind": 2},
            },
            timeout=300,
        )
        assert "result" in answer or "error" in answer
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": 1, "character": 0},
                            "end": {"line": 1, "character": 0},
                        },
                        "text": "y = 2\n",
                    }
                ],
            },
        )
        lines = text.split("\n") if uri.endswith(".py") else None
        expected = "\n".join([lines[0], "y = 2", *lines[1:]]) if lines is not None else None
        state = client.call("ghostwright/documentState", {"uri": uri}, timeout=120)["result"]
        if expected is not None:
            assert state["sha256"] == hashlib.sha256(expected.encode()).hexdigest()
        assert state["version"] == 2
        actions = client.call(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
                "context": {"diagnostics": []},
            },
        )
        assert "result" in actions
    assert client.process.poll() is None
