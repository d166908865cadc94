"""Privacy and untrusted workspaces, end to end with the real server and model.

- A corpus of secret shapes in open documents, code text storage on: none reaches the database
  or an export (JSON Lines, Parquet), in any field or byte.
- Telemetry files are readable by the user only.
- By default the server opens no network socket: an audit hook records every socket the
  server's Python code creates, connects, binds or resolves, and the kernel's socket tables are
  checked for the process too.
- Code in the workspace never runs: a workspace full of modules named like the libraries
  Ghostwright imports is left alone.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, server_env
from tests.reliability.rpc import RawClient
from tests.unit.test_redact import PEM, TOKENS

PASSWORDS = ["hunter2-correct-horse", "Pa55w0rd!2026-prod", "s3cr3t-db-passw0rd"]
CONNECTION = "postgresql://admin:" + "Sup3rS3cret@db.internal:5432/app"
DOTENV = "\n".join(
    [
        f"DATABASE_PASSWORD={PASSWORDS[2]}",
        f"STRIPE_SECRET_KEY={TOKENS[11]}",
        f"DATABASE_URL={CONNECTION}",
    ]
)
PYTHON = "\n".join(
    [
        "import requests",
        "",
        *(f'TOKEN_{i} = "{token}"' for i, token in enumerate(TOKENS)),
        f'password = "{PASSWORDS[0]}"',
        f'db_url = "{CONNECTION}"',
        f'login("admin", password="{PASSWORDS[1]}")',
        f"PRIVATE_KEY = '''{PEM}'''",
        "",
        "def call(url):",
        f'    return requests.get(url, headers={{"Authorization": "Bearer {TOKENS[0]}"}})',
        "",
        "BACKUP_TOKEN = ",
    ]
)
SECRETS = [*TOKENS, *PASSWORDS, "Sup3rS3cret", PEM.split("\n")[1]]

AUDIT = r"""
import os, socket, sys
log = open(os.environ["SOCKET_AUDIT_LOG"], "a", buffering=1)
def audit(event, args):
    if event.startswith("socket.") and event != "socket.__new__":
        log.write(f"{event} {args!r}\n")
    elif event == "socket.__new__" and args and args[1] not in (socket.AF_UNIX,):
        log.write(f"{event} {args!r}\n")
sys.addaudithook(audit)
sys.argv = ["ghostwright", "serve"]
from ghostwright.cli import main
raise SystemExit(main())
"""


def inet_socket_inodes(pid: int) -> set[str]:
    """Inodes of the process's sockets that the kernel lists as TCP or UDP."""
    mine = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[len("socket:[") : -1])
    inet = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path(f"/proc/net/{table}")
        if path.exists():
            for line in path.read_text().splitlines()[1:]:
                inet.add(line.split()[9])
    return mine & inet


def test_no_secret_reaches_the_database_or_an_export_and_no_socket_is_opened(
    tmp_path: Path,
) -> None:
    audit_log = tmp_path / "sockets.log"
    env = server_env(tmp_path, GHOSTWRIGHT_TELEMETRY_CODE="true", SOCKET_AUDIT_LOG=str(audit_log))
    # The real server, started through an audit hook that logs every network socket use.
    client = RawClient(env, command=[sys.executable, "-c", AUDIT])
    try:
        client.initialize(root=EXAMPLES)
        assert client.wait_for_status("ready", "failed")["state"] == "ready"
        documents = {
            "file:///secrets/settings.py": ("python", PYTHON),
            "file:///secrets/.env": ("dotenv", DOTENV),
        }
        for uri, (language, text) in documents.items():
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
            )
        accepted = 0
        for uri, (_, text) in documents.items():
            lines = text.split("\n")
            for row, line in enumerate(lines):
                answer = client.call(
                    "textDocument/inlineCompletion",
                    {
                        "textDocument": {"uri": uri},
                        "position": {"line": row, "character": len(line)},
                        "context": {"triggerKind": 1},
                    },
                )
                for item in (answer.get("result") or {}).get("items", [])[:1]:
                    command = item["command"]
                    client.call(
                        "workspace/executeCommand",
                        {"command": command["command"], "arguments": command["arguments"]},
                    )
                    accepted += 1
        assert accepted >= 3, "too few suggestions to exercise the telemetry"
        assert not inet_socket_inodes(client.process.pid)
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]
    sockets = audit_log.read_text() if audit_log.exists() else ""
    assert sockets == "", f"the server touched the network:\n{sockets}"

    data = tmp_path / "data" / "ghostwright"
    database = data / "telemetry.sqlite3"
    exports = [tmp_path / "events.jsonl", tmp_path / "events.parquet"]
    for out in exports:
        fmt = "jsonl" if out.suffix == ".jsonl" else "parquet"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ghostwright",
                "export",
                "--format",
                fmt,
                "--out",
                str(out),
                "--include-code",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in exports[0].read_text().splitlines()]
    assert any("text" in json.dumps(row) for row in rows), "code text was exported (consent)"
    files = [*data.glob("telemetry.sqlite3*"), *exports]
    for path in files:
        content = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in content, f"{secret[:8]}... found in {path.name}"
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is readable by others"
    assert database.exists()


def test_code_in_the_workspace_never_runs(tmp_path: Path) -> None:
    """The server started in a hostile workspace (modules shadowing what Ghostwright imports,
    lazily or not): completion, diagnostics and repair all run, nothing from it executes."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    marker = tmp_path / "executed"
    payload = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    for name in (
        "llama_cpp",
        "numpy",
        "lightgbm",
        "pyflakes",
        "tree_sitter",
        "sitecustomize",
        "usercustomize",
        "lsprotocol",
        "pygls",
        "httpx",
        "sqlite3",
        "ast",
    ):
        (workspace / f"{name}.py").write_text(payload)
    (workspace / "conftest.py").write_text(payload)
    (workspace / "main.py").write_text("import os\n\ndef main():\n    print(os.getcwd()\n")
    client = RawClient(server_env(tmp_path), cwd=workspace)
    try:
        client.initialize(root=workspace)
        assert client.wait_for_status("ready", "failed")["state"] == "ready"
        uri = (workspace / "main.py").as_uri()
        text = (workspace / "main.py").read_text()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
        client.call(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 3, "character": 0},
                "context": {"triggerKind": 1},
            },
        )
        actions = client.call(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 5}},
                "context": {"diagnostics": []},
            },
        )
        assert actions.get("result")
        resolved = client.call("codeAction/resolve", actions["result"][0], timeout=120)
        assert "result" in resolved
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]
    assert not marker.exists(), f"workspace code ran: {marker.read_text()}"


def test_a_remote_backend_connects_only_to_the_configured_host(tmp_path: Path) -> None:
    """With `backend = llamacpp`, every connection the server's code makes goes to
    `backendUrl` and nowhere else (the audit hook sees each `socket.connect`)."""
    from tests.protocol_servers import ProtocolServer

    remote = ProtocolServer("llamacpp", reply=lambda body: [" a", " + b"]).start()
    audit_log = tmp_path / "sockets.log"
    env = server_env(
        tmp_path,
        GHOSTWRIGHT_BACKEND="llamacpp",
        GHOSTWRIGHT_BACKEND_URL=remote.url,
        SOCKET_AUDIT_LOG=str(audit_log),
    )
    client = RawClient(env, command=[sys.executable, "-c", AUDIT])
    try:
        client.initialize()
        assert client.wait_for_status("ready", "failed", "degraded")["state"] == "ready"
        uri = "file:///remote/add.py"
        text = 'def add(a, b):\n    """Add two numbers."""\n    return '
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
        answer = client.call(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": 2, "character": len("    return ")},
                "context": {"triggerKind": 1},
            },
        )
        assert (answer.get("result") or {}).get("items"), answer
    finally:
        client.close()
        remote.stop()
    events = audit_log.read_text().splitlines()
    connects = [line for line in events if line.startswith("socket.connect ")]
    assert connects, "the audit hook saw no connection: it would see nothing at all"
    port = remote.url.rsplit(":", 1)[1]
    strangers = [line for line in connects if f"('127.0.0.1', {port})" not in line]
    assert not strangers, strangers
