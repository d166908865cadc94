"""A team's loop end to end: each person exports, the exports are pooled (each event once,
users pseudonymous), the predictor is trained on a Dask `LocalCluster` with `lightgbm.dask`,
and a second server instance loads the result from a URL after checking its checksum, or
refuses it and keeps the shipped model."""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from ghostwright.predictor.features import names
from ghostwright.predictor.model import (
    MODEL_CARD,
    MODEL_FILES,
    AcceptancePredictor,
    card_sha256,
    load_predictor,
    shipped_directory,
)
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore
from tests.conftest import run_ghostwright
from tests.e2e.test_server import lsp_session, wait_for_state

PROJECTS = ("api", "web", "cli", "docs")


def record_decisions(database: Path, count: int, *, seed: int, start: float) -> None:
    """One person's shown suggestions with full feature vectors and outcomes: they accept
    suggestions the model was confident about (mean_logprob > 0 in these synthetic vectors)."""
    rng = random.Random(seed)
    categorical = AcceptancePredictor.load().card["stages"]["suggestion"]["categorical"]
    store = TelemetryStore(database)
    for index in range(count):
        features = {name: rng.uniform(-1.0, 1.0) for name in names("suggestion")}
        for name in categorical:
            features[name] = float(rng.randint(0, 3))
        suggestion_id = f"{seed}-{index}"
        at = start + 10.0 * index
        shown = {
            "stage": "filter",
            "score": 0.5,
            "threshold": 0.1,
            "features": features,
            "language": "python",
            "project": PROJECTS[index % len(PROJECTS)],
        }
        store.record(TelemetryEvent("shown", suggestion_id, at, shown))
        outcome = "accepted" if features["mean_logprob"] > 0.0 else "rejected"
        store.record(TelemetryEvent(outcome, suggestion_id, at + 1.0, {"project": "p"}))
    assert store.flush()
    store.close()


def ghostwright(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`run_ghostwright`, which must succeed."""
    result = run_ghostwright(home, *args)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two people's exports, one of them exported twice (overlapping) in both formats."""
    root = tmp_path_factory.mktemp("team")
    folder = root / "exports"
    now = time.time()
    for person, seed in (("alice", 1), ("bob", 2)):
        home = root / person
        database = home / "data" / "ghostwright" / "telemetry.sqlite3"
        database.parent.mkdir(parents=True)
        record_decisions(database, 300, seed=seed, start=now - 86400.0 * (3 - seed))
        ghostwright(
            home, "export", "--format", "parquet", "--out", str(folder / f"{person}.parquet")
        )
    alice = root / "alice"
    ghostwright(alice, "export", "--format", "jsonl", "--out", str(folder / "alice-again.jsonl"))
    return folder


@pytest.fixture(scope="module")
def team_model(exports: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`pool` then `train --from-parquet --dask` on a two-worker LocalCluster (TCP, in this
    process; the command connects to it like to any scheduler)."""
    distributed = pytest.importorskip("distributed")
    root = tmp_path_factory.mktemp("pooled")
    pooled = root / "pooled"
    result = ghostwright(
        root, "pool", str(exports), "--out", str(pooled / "events.parquet"), "--json"
    )
    pool = json.loads(result.stdout)
    out = root / "team-predictor"
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        trained = ghostwright(
            root,
            "train",
            "--from-parquet",
            str(pooled),
            "--dask",
            cluster.scheduler_address,
            "--out",
            str(out),
            "--json",
        )
    return {"pool": pool, "train": json.loads(trained.stdout), "out": out}


def test_pooling_keeps_each_event_once_and_users_pseudonymous(
    exports: Path, team_model: dict[str, Any]
) -> None:
    pool = team_model["pool"]
    assert len(pool["files"]) == 3
    # 2 people x 300 suggestions x (shown + outcome); alice's second export adds nothing.
    assert pool["rows"] == 1200 and pool["duplicates_dropped"] == 600
    assert pool["users"] == 2
    import pyarrow.parquet as pq

    table = pq.read_table(Path(pool["out"]))
    users = set(table.column("user").to_pylist())
    assert len(users) == 2
    for user in users:  # random installation ids, never a name
        assert len(user) == 32 and all(c in "0123456789abcdef" for c in user)
        assert "alice" not in user and "bob" not in user
    ids = table.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 1200


def test_training_on_a_dask_cluster_writes_a_pinned_model(team_model: dict[str, Any]) -> None:
    trained, out = team_model["train"], team_model["out"]
    card = trained["card"]
    assert card["training"]["dask"] is True
    assert card["data"]["source"] == "pooled telemetry" and card["data"]["users"] == 2
    assert card["data"]["tune_rows"] == 450 and card["data"]["validation_rows"] == 150
    assert trained["sha256"] == card_sha256(out)
    predictor = AcceptancePredictor.load(out)
    # The held-out newest suggestions follow the team's habit: the model learned it.
    assert card["metrics"]["filter"]["predictor"]["auc"] > 0.9
    assert predictor.score({"mean_logprob": 0.9}) > predictor.score({"mean_logprob": -0.9})
    assert "Pooled telemetry of a team" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def published(team_model: dict[str, Any]) -> Iterator[str]:
    """The team model's directory on a plain static HTTP server on loopback."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(team_model["out"]))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


async def test_a_second_server_loads_the_team_model_after_checking_its_checksum(
    team_model: dict[str, Any], published: str, default_model_path: Path, tmp_path: Path
) -> None:
    sha = team_model["train"]["sha256"]
    env = {
        "GHOSTWRIGHT_PREDICTOR_MODEL": published,
        "GHOSTWRIGHT_PREDICTOR_SHA256": sha,
        "GHOSTWRIGHT_MODEL": str(default_model_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    fetched = tmp_path / "cache" / "ghostwright" / "predictors" / sha
    async with lsp_session(env) as session:
        ready = await wait_for_state(session.statuses, "ready", "failed")
        assert ready["predictor"] == str(fetched)  # the published model, fetched and pinned
        assert session.shown(types.MessageType.Error) == []
    assert card_sha256(fetched) == sha
    assert {p.name for p in fetched.iterdir()} == {MODEL_CARD, *MODEL_FILES.values()}


async def test_a_model_that_does_not_match_its_checksum_is_refused(
    published: str, default_model_path: Path, tmp_path: Path
) -> None:
    env = {
        "GHOSTWRIGHT_PREDICTOR_MODEL": published,
        "GHOSTWRIGHT_PREDICTOR_SHA256": "0" * 64,
        "GHOSTWRIGHT_MODEL": str(default_model_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    async with lsp_session(env) as session:
        ready = await wait_for_state(session.statuses, "ready", "failed")
        [error] = session.shown(types.MessageType.Error)
        assert "refused" in error and "not predictorSha256" in error
        assert "Using the shipped one" in error
        assert ready["predictor"] == str(shipped_directory())


def test_a_changed_file_of_a_pinned_directory_is_refused(
    team_model: dict[str, Any], tmp_path: Path
) -> None:
    sha = team_model["train"]["sha256"]
    copy = tmp_path / "team"
    shutil.copytree(team_model["out"], copy)
    assert load_predictor(str(copy), sha).refused is None
    model = copy / MODEL_FILES["suggestion"]
    model.write_text(model.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    loaded = load_predictor(str(copy), sha)
    assert loaded.refused is not None and "does not match the sha256 in its model card" in (
        loaded.refused
    )
    assert loaded.predictor.directory == shipped_directory()


def test_a_url_needs_a_pin(published: str, tmp_path: Path) -> None:
    loaded = load_predictor(published, None, cache_dir=tmp_path)
    assert loaded.refused is not None and "set predictorSha256" in loaded.refused
    assert not any(tmp_path.iterdir())  # nothing fetched


def test_a_file_that_is_not_an_export_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ghostwright.errors import TelemetryError
    from ghostwright.telemetry.pool import read_pool

    pq.write_table(pa.table({"event_id": ["x"]}), tmp_path / "other.parquet")
    with pytest.raises(TelemetryError, match="not a Ghostwright export of schema 1"):
        read_pool([tmp_path])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TelemetryError, match="holds no exports"):
        read_pool([empty])
