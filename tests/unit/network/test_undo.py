"""Flows as steps with undo: what the earlier steps made is undone, last first, come what may."""

from __future__ import annotations

import logging

import pytest

from tricircle.network.mirror.undo import Made, Step, run_steps


def _made(name: str) -> Made:
    return Made("Pod1", name, f"{name}-id")


def test_a_failing_step_undoes_the_earlier_ones_last_first_and_a_failing_undo_is_logged(caplog):
    undone: list[str] = []

    def undo(_context: list[str], made: Made) -> None:
        if made.resource_type == "second":
            raise RuntimeError("pod gone")
        undone.append(made.resource_type)

    def fail(_context: list[str]) -> None:
        raise ValueError("step failed")

    steps = [
        Step("first", lambda _context: _made("first"), undo),
        Step("nothing to undo", lambda _context: None, undo),
        Step("second", lambda _context: _made("second"), undo),
        Step("third", lambda _context: _made("third"), undo),
        Step("fails", fail),
    ]
    with caplog.at_level(logging.ERROR), pytest.raises(ValueError, match="step failed"):
        run_steps(steps, [])
    assert undone == ["third", "first"]
    assert "undo failed region=Pod1 resource_type=second top_id=second-id" in caplog.text


def test_steps_that_succeed_undo_nothing():
    context: list[str] = []
    steps = [Step("add", lambda items: items.append("x"))]
    run_steps(steps, context)
    assert context == ["x"]
