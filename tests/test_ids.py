"""Run ids: the API's shape, unique, and never shared with a forked child."""

from __future__ import annotations

import os
import re

import pytest

from runlife import InvalidRun, ManualClock, RunEngine
from runlife._ids import new_id

ID = re.compile(r"run_[A-Za-z0-9_-]{24}")


def test_ids_have_the_api_shape_and_do_not_repeat():
    """'run_' and 24 URL-safe characters; 10,000 ids (many batches) are all different."""
    ids = [new_id() for _ in range(10_000)]
    assert all(ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_created_runs_get_one():
    engine = RunEngine(clock=ManualClock(1_700_000_000))
    run = engine.create(assistant_id="a", thread_id="t", model="m")
    assert ID.fullmatch(run.id)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_its_own_ids():
    """The batch a child inherits is dropped: parent and child never hand out the same id."""
    new_id()  # a batch is drawn and partly left
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, " ".join(new_id() for _ in range(300)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [new_id() for _ in range(300)]
    assert len(child) == 300
    assert not set(child) & set(parent)


def test_a_bad_id_factory_is_refused():
    """An id_factory that returns no string makes create() fail, naming the field."""
    engine = RunEngine(clock=ManualClock(1_700_000_000), id_factory=lambda: "")
    with pytest.raises(InvalidRun, match=r"\$\.id: id_factory returned ''"):
        engine.create(assistant_id="a", thread_id="t", model="m")
