"""Training curves: measured before the first step, every N steps and at the end; resumed without repeats."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from medspec.training.curves import curve_callback, read_curve


class Model:
    """Records the mode it was measured in."""

    def __init__(self) -> None:
        self.training = True
        self.seen: list[bool] = []

    def eval(self):
        self.training = False
        return self

    def train(self, mode: bool = True):
        self.training = mode
        return self


def drive(callback, model, steps: range, *, begin_at: int = 0) -> None:
    state = SimpleNamespace(global_step=begin_at, epoch=0.0, is_world_process_zero=True)
    callback.on_train_begin(None, state, None, model=model)
    for step in steps:
        state.global_step, state.epoch = step, step / 10
        callback.on_step_end(None, state, None, model=model)
    callback.on_train_end(None, state, None, model=model)


def test_measures_at_zero_every_n_steps_and_the_last_step_in_eval_mode(tmp_path):
    model = Model()

    def measure(m):
        m.seen.append(m.training)
        return {"bpc": 8.0 - len(m.seen)}

    drive(curve_callback(tmp_path / "curve.jsonl", every=4, measure=measure), model, range(1, 11))
    curve = read_curve(tmp_path / "curve.jsonl")
    assert [entry["step"] for entry in curve] == [0, 4, 8, 10]
    assert [entry["bpc"] for entry in curve] == [7.0, 6.0, 5.0, 4.0] and curve[2]["epoch"] == 0.8
    assert model.seen == [False] * 4 and model.training  # measured in eval mode, back to training after


def test_a_resumed_stage_appends_without_measuring_a_step_twice(tmp_path):
    path = tmp_path / "curve.jsonl"
    calls = []

    def measure(m):
        calls.append(1)
        return {"bpc": 1.0}

    drive(curve_callback(path, every=5, measure=measure), Model(), range(1, 6))  # killed after step 5
    drive(curve_callback(path, every=5, measure=measure), Model(), range(6, 11), begin_at=5)
    assert [entry["step"] for entry in read_curve(path)] == [0, 5, 10] and len(calls) == 3


def test_only_the_main_process_measures(tmp_path):
    callback = curve_callback(tmp_path / "curve.jsonl", every=1, measure=lambda m: {"bpc": 1.0})
    state = SimpleNamespace(global_step=1, epoch=0.1, is_world_process_zero=False)
    callback.on_step_end(None, state, None, model=Model())
    assert read_curve(tmp_path / "curve.jsonl") == []


def test_every_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="every"):
        curve_callback(tmp_path / "curve.jsonl", every=0, measure=lambda m: {})
