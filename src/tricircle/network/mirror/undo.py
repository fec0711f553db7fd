"""Undo journal: what one call made, undone in reverse order if the call fails part way.

``run_steps`` runs a flow written as a list of forward ``Step``s on one context, each saying
what it made and how to undo it; the journal undoes them if a later step fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Generic, TypeVar

LOG = logging.getLogger(__name__)
Context = TypeVar("Context")


@dataclass(frozen=True)
class Made:
    """One thing a call made: a bottom copy (region, resource type, top ID) or a top port."""

    region_name: str
    resource_type: str
    top_id: str


@dataclass
class Undo:
    """Steps that undo what was made; used as ``with Undo() as undo:`` it runs them on failure."""

    steps: list[tuple[Made, Callable[[], None]]] = field(default_factory=list)

    def push(self, made: Made, step: Callable[[], None]) -> None:
        """Record that ``made`` was made and how to undo it."""
        self.steps.append((made, step))

    @property
    def made(self) -> tuple[Made, ...]:
        """What was made, in order."""
        return tuple(made for made, _step in self.steps)

    def run(self) -> None:
        """Undo everything, last made first; a failing step is logged and the rest still run."""
        while self.steps:
            made, step = self.steps.pop()
            try:
                step()
            except Exception:
                LOG.exception(
                    "undo failed region=%s resource_type=%s top_id=%s",
                    made.region_name,
                    made.resource_type,
                    made.top_id,
                )

    def __enter__(self) -> Undo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.run()


@dataclass(frozen=True)
class Step(Generic[Context]):
    """One forward step of a flow: ``run`` returns what it made (None: nothing to undo)."""

    name: str
    run: Callable[[Context], Made | None]
    undo: Callable[[Context, Made], None] | None = None


def run_steps(steps: Sequence[Step[Context]], context: Context) -> None:
    """Run ``steps`` in order on ``context``; if one fails, undo what the earlier ones made,
    last first, each failing undo logged and the others still run, then re-raise."""
    with Undo() as undo:
        for step in steps:
            LOG.debug("step %s", step.name)
            made = step.run(context)
            if made is not None and step.undo is not None:
                undo.push(made, partial(step.undo, context, made))
