"""How many llama.cpp threads the engine (and every bench contender) runs with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ghostwright.engine.local import LocalEngine, llama_threads, physical_cores
from ghostwright.engine.models import default_model
from ghostwright.settings import Settings
from ghostwright_lab.bench.stock_server import StockServer


def test_a_set_thread_count_is_used_for_prompts_and_tokens() -> None:
    assert llama_threads(3, cores=8) == (3, 3)


@pytest.mark.parametrize(("cores", "expected"), [(1, (1, 1)), (2, (1, 2)), (8, (7, 8))])
def test_by_default_generation_leaves_one_core_to_the_editor(
    cores: int, expected: tuple[int, int]
) -> None:
    assert llama_threads(0, cores=cores) == expected


def write_topology(root: Path, siblings: dict[int, str]) -> Path:
    for cpu, shared in siblings.items():
        topology = root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "thread_siblings_list").write_text(shared + "\n", encoding="ascii")
    return root


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux affinity and sysfs")
@pytest.mark.parametrize(
    ("allowed", "siblings", "expected"),
    [
        # hyperthread siblings count as one core
        ({0, 1, 2, 3}, {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"}, 2),
        # only the CPUs the process may use count
        ({1}, {0: "0", 1: "1", 2: "2", 3: "3"}, 1),
    ],
)
def test_physical_cores_of_the_cpus_the_process_may_use(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    allowed: set[int],
    siblings: dict[int, str],
    expected: int,
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: allowed)
    assert physical_cores(write_topology(tmp_path, siblings)) == expected


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux affinity and sysfs")
def test_an_unreadable_topology_counts_logical_cpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert physical_cores(tmp_path / "missing") == 3


def test_this_machine_has_between_one_and_all_its_cpus_as_cores() -> None:
    assert 1 <= physical_cores() <= (os.cpu_count() or 1)


def test_the_loaded_model_runs_with_the_default_split() -> None:
    path = default_model().cached_path
    if not path.is_file():
        pytest.fail(f"the default model is not fetched at {path}")
    engine = LocalEngine(path, Settings(context_size=512))
    try:
        generation, prompt = llama_threads(0)
        assert (engine._llama.n_threads, engine._llama.n_threads_batch) == (generation, prompt)
    finally:
        engine.close()


@pytest.mark.parametrize("setting", [0, 3])
def test_the_stock_server_runs_with_ghostwrights_threads(setting: int) -> None:
    command = StockServer(Path("model.gguf"), setting).command()
    generation, prompt = llama_threads(setting)
    assert command[command.index("--n_threads") + 1] == str(generation)
    assert command[command.index("--n_threads_batch") + 1] == str(prompt)
