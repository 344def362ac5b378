from __future__ import annotations

import pytest

from medspec.bench.human.study import create_study
from tests.unit.bench.fakes import case_task, choice_task, echo_reference, qa_task, run_model

XSS = '<script>document.title="pwned"</script><b>粗体</b> **Markdown** & <img src=x onerror=alert(1)>'


@pytest.fixture(scope="package")
def runs():
    """Three models: 'ours' answers with the reference, 'base' always the same, 'rogue' with HTML and script."""
    tasks = [qa_task(6), case_task(), choice_task()]
    return [
        run_model(tasks, echo_reference(tasks[0]), "ours"),
        run_model(tasks, lambda p: "多喝水。", "base"),
        run_model(tasks, lambda p: XSS, "rogue"),
    ]


@pytest.fixture
def pairwise_dir(runs, tmp_path):
    create_study(runs[:2], tmp_path / "pairwise", seed=3)
    return tmp_path / "pairwise"


@pytest.fixture
def pointwise_dir(runs, tmp_path):
    create_study(runs, tmp_path / "pointwise", mode="pointwise", limit=2, seed=3)
    return tmp_path / "pointwise"
