"""The store's behaviour, identical on SQLite and PostgreSQL: every operation and error."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from runlife import (
    Conflict,
    GuardRejected,
    IllegalTransition,
    InvalidRun,
    ManualClock,
    Run,
    RunEngine,
    RunEvent,
    RunlifeError,
    RunNotFound,
    check,
    to_dict,
)
from runlife.store import LeaseLost, Store, ThreadBusy, open_store
from tests.support import CALL, T0, USAGE, VALID_ARGS, WEATHER_TOOL, fire

OUTPUTS = VALID_ARGS["submit_tool_outputs"]["tool_outputs"]


def add(store: Store, n: int = 1, **fields: Any) -> Run:
    defaults: dict[str, Any] = {
        "id": f"run_{n}",
        "assistant_id": "asst_1",
        "thread_id": f"thread_{n}",
        "model": "gpt-4o",
        "tools": [WEATHER_TOOL],
        "max_completion_tokens": 256,
    }
    defaults.update(fields)
    return store.create(**defaults)


def move(store: Store, run: Run | str, *triggers: str, worker: str | None = None) -> Run:
    """Fire *triggers* (with the suite's valid arguments) on a stored run in one block."""
    with store.move(run, worker=worker) as moving:
        for trigger in triggers:
            fire(moving, trigger)
    return moving


def listen(engine: RunEngine) -> list[RunEvent]:
    events: list[RunEvent] = []
    engine.subscribe(events.append)
    return events


class TestCreateAndGet:
    def test_create_then_get(self, store):
        """A created run is stored queued at version 0 and reads back equal."""
        run = add(store)
        assert run.status == "queued"
        assert store.version("run_1") == 0
        got = store.get("run_1")
        assert to_dict(got) == to_dict(run)
        assert got.engine is store.engine

    def test_created_event_after_commit(self, store, engine):
        """thread.run.created reaches listeners once the run is in the database."""
        seen: list[str] = []
        engine.subscribe(lambda e: seen.append(store.get(e.run_id).status.value))
        add(store)
        assert seen == ["queued"]

    def test_invalid_fields_write_nothing(self, store):
        """A run the engine refuses is not stored."""
        with pytest.raises(InvalidRun, match=r"\$\.model: missing"):
            store.create(assistant_id="a", thread_id="t")
        assert store.counts() == {}

    def test_missing_run(self, store):
        """A missing id raises RunNotFound, a RunlifeError and a LookupError."""
        with pytest.raises(RunNotFound) as info:
            store.get("run_nope")
        assert isinstance(info.value, LookupError)
        assert isinstance(info.value, RunlifeError)
        assert str(info.value) == "no run run_nope"
        for call in (store.version, store.history, store.events_since, store.tool_outputs):
            with pytest.raises(RunNotFound):
                call("run_nope")
        with pytest.raises(RunNotFound), store.move("run_nope"):
            pass

    def test_duplicate_id(self, store):
        """A second run with the same id is a Conflict."""
        add(store)
        with pytest.raises(Conflict, match="a run with id run_1 already exists in the store"):
            add(store, thread_id="thread_other")

    def test_one_active_run_per_thread(self, store):
        """The database refuses a second active run on a thread; the error names both."""
        add(store, 1, thread_id="thread_x")
        with pytest.raises(ThreadBusy) as info:
            add(store, 2, thread_id="thread_x")
        assert (info.value.thread_id, info.value.run_id) == ("thread_x", "run_1")
        assert str(info.value) == (
            "thread thread_x already has an active run: run run_1 is active on it; "
            "wait for it to end or cancel it first"
        )
        with store.move("run_1") as run:
            run.fail("server_error", "gone")
        assert add(store, 2, thread_id="thread_x").status == "queued"


class TestMove:
    def test_move_by_id(self, store, engine, clock):
        """A move is written with its history row and emitted after the commit."""
        add(store)
        clock.advance(3)
        seen: list[tuple[str, int]] = []
        engine.subscribe(lambda e: seen.append((e.event, store.version(e.run_id))))
        with store.move("run_1") as run:
            run.start()
        assert run.status == "in_progress"
        assert run.started_at == T0 + 3
        assert store.get("run_1").status == "in_progress"
        assert store.version("run_1") == 1
        assert seen == [("thread.run.in_progress", 1)]
        assert [m.to_dict() for m in store.history("run_1")] == [
            {
                "trigger": "start",
                "source": "queued",
                "dest": "in_progress",
                "at": T0 + 3,
                "args": {},
            }
        ]

    def test_several_moves_in_one_block(self, store, engine):
        """Each move of a block gets its own history row and event, in order."""
        add(store)
        events = listen(engine)
        with store.move("run_1") as run:
            run.start()
            run.require_action([CALL])
        assert store.version("run_1") == 2
        assert [e.event for e in events] == ["thread.run.in_progress", "thread.run.requires_action"]
        assert [e.dest for e in store.events_since("run_1", 0)] == [
            "in_progress",
            "requires_action",
        ]

    def test_no_event_before_commit(self, store, engine):
        """Inside the block, listeners have heard nothing yet."""
        add(store)
        events = listen(engine)
        with store.move("run_1") as run:
            run.start()
            assert events == []
        assert len(events) == 1

    def test_exception_in_block_writes_nothing(self, store, engine):
        """An exception in the block rolls the moves back, in the database and the object."""
        add(store)
        events = listen(engine)
        run = store.get("run_1")

        def fail_midway() -> None:
            with store.move(run) as moving:
                moving.start()
                raise KeyError("boom")

        with pytest.raises(KeyError):
            fail_midway()
        assert run.status == "queued"
        assert run.history == ()
        assert store.version("run_1") == 0
        assert events == []

    def test_illegal_and_rejected_write_nothing(self, store):
        """The engine's own errors pass through and nothing is written."""
        add(store)
        with pytest.raises(
            IllegalTransition, match=r"cannot complete\(\) run run_1 in status 'queued'"
        ):
            move(store, "run_1", "complete")

        def refused_third() -> None:
            with store.move("run_1") as run:
                run.start()
                run.require_action([CALL])
                run.submit_tool_outputs([])

        with pytest.raises(GuardRejected, match="tool_outputs"):
            refused_third()
        assert store.version("run_1") == 0
        assert store.history("run_1") == []

    def test_empty_block(self, store):
        """A block that fires nothing writes nothing."""
        add(store)
        with store.move("run_1"):
            pass
        assert store.version("run_1") == 0

    def test_lost_race_ends_in_illegal_transition(self, store_url, store, engine):
        """Two writers start one run: one wins, the other sees IllegalTransition on fresh state."""
        mine = add(store)

        def race() -> None:
            with open_store(store_url, engine=engine) as other, store.move(mine) as moving:
                moving.start()
                move(other, "run_1", "start")

        with pytest.raises(IllegalTransition) as info:
            race()
        assert "was moved by another writer first" in str(info.value.__notes__)
        assert mine.status == "in_progress"  # the object shows the stored state
        assert [m.trigger for m in store.history("run_1")] == ["start"]
        assert store.stats()["conflicts"] == 1

    def test_lost_race_retried_keeps_both(self, store):
        """A move that loses to a metadata update is applied on the fresh state: no lost update."""
        add(store)
        with store.move("run_1") as run:
            run.start()
            store.update_metadata("run_1", {"k": "v"})
        stored = store.get("run_1")
        assert (stored.status, stored.metadata) == ("in_progress", {"k": "v"})
        assert store.version("run_1") == 2

    def test_retries_exhausted(self, store_url, engine):
        """With no retries left, a lost race is applied under the row's lock: both land."""
        with open_store(store_url, engine=engine, retries=0) as store:
            run = add(store)

            def race() -> None:
                with store.move(run) as moving:
                    moving.start()
                    store.update_metadata("run_1", {"k": "v"})

            race()
            stored = store.get("run_1")
            assert (stored.status, stored.metadata, stored.version) == (
                "in_progress",
                {"k": "v"},
                2,
            )
            assert store.stats()["conflicts"] == 1
            assert store.stats()["locked"] == 1

    def test_stale_object(self, store):
        """A run object moved behind its back is re-read before the block."""
        run = add(store)
        store.update_metadata("run_1", {"k": "v"})
        with store.move(run) as moving:
            assert moving is run
            assert run.metadata == {"k": "v"}
            run.start()
        assert store.version("run_1") == 2

    @pytest.mark.parametrize("landed", [True, False], ids=["write landed", "write lost"])
    def test_unknown_outcome(self, store, monkeypatch, landed):
        """A write whose connection broke is looked up: applied exactly once either way."""
        from runlife.store._rows import Lost

        add(store)
        write_once = store._write_once
        broken = [True]

        def flaky(writes, events, steps, fence):
            if broken and broken.pop():
                if landed:
                    write_once(writes, events, steps, fence)
                raise Lost("server closed the connection unexpectedly")
            return write_once(writes, events, steps, fence)

        monkeypatch.setattr(store, "_write_once", flaky)
        assert move(store, "run_1", "start").status == "in_progress"
        assert [m.trigger for m in store.history("run_1")] == ["start"]
        assert store.stats().get("conflicts", 0) == (0 if landed else 1)

    def test_run_version_is_the_stored_version(self, store):
        """On a stored run, run.version is the store's version (where the record keeps one)."""
        if not hasattr(Run, "version"):
            pytest.skip("this runlife's Run has no version")
        run = add(store)
        assert run.version == 0
        moved = move(store, run, "start", "cancel")
        assert moved.version == store.version("run_1") == 2
        store.update_metadata("run_1", {"k": "v"})
        assert store.get("run_1").version == 3

    def test_object_moved_in_memory_is_reread(self, store):
        """A run moved in memory (not stored) is re-read from the store before moving."""
        run = add(store)
        run.start()  # memory only
        with store.move(run) as moving:
            assert moving.status == "queued"
            moving.cancel()
        assert store.get("run_1").status == "cancelling"


class TestClaim:
    def test_oldest_first_never_twice(self, store, clock):
        """Claims take queued runs oldest first, start them, and never hand one out twice."""
        for n in (3, 1, 2):
            add(store, n)
            clock.advance(1)
        first = store.claim(2, worker="w1")
        second = store.claim(5, worker="w2")
        assert [r.id for r in first] == ["run_3", "run_1"]
        assert [r.id for r in second] == ["run_2"]
        assert store.claim(5, worker="w3") == []
        assert all(r.status == "in_progress" for r in first + second)
        assert store.get("run_3").started_at == T0 + 3

    def test_claim_emits_after_commit(self, store, engine):
        """Each claimed run's start is an event."""
        add(store)
        events = listen(engine)
        store.claim(1, worker="w1")
        assert [(e.event, e.trigger) for e in events] == [("thread.run.in_progress", "start")]

    def test_claim_skips_overdue(self, store, clock):
        """A queued run past its deadline is left to expire_due."""
        add(store)
        clock.advance(600)
        assert store.claim(1, worker="w1") == []
        assert store.expire_due().moved == ("run_1",)

    @pytest.mark.parametrize("limit", [0, -1, 1.5, "2"])
    def test_bad_limit(self, store, limit):
        """The limit is an int >= 1."""
        with pytest.raises(ValueError, match="limit: expected an int >= 1"):
            store.claim(limit, worker="w1")

    def test_worker_required(self, store):
        """A claim names its worker."""
        with pytest.raises(ValueError, match="worker: expected a non-empty string"):
            store.claim(1, worker="")

    def test_fenced_writes(self, store, clock):
        """Only the worker holding a run may write to it as a worker, while its lease lasts."""
        add(store, 1)
        add(store, 2)
        [_, run2] = store.claim(2, worker="w1")
        with pytest.raises(LeaseLost) as info:
            move(store, "run_1", "complete", worker="w2")
        assert str(info.value) == (
            "worker w2 does not hold run run_1 (w1 holds it; the run is in_progress): "
            "the write was refused and nothing was written"
        )
        clock.advance(31)
        with pytest.raises(LeaseLost) as info:
            move(store, run2, "complete", worker="w1")
        assert str(info.value) == (
            f"worker w1 does not hold run run_2 (its lease lapsed at {T0 + 30}; the run is "
            "in_progress): the write was refused and nothing was written"
        )
        assert (info.value.holder, info.value.status) == (None, "in_progress")
        add(store, 3)
        with pytest.raises(LeaseLost, match=r"\(no worker holds it; the run is queued\)"):
            move(store, "run_3", "start", worker="w1")
        assert store.get("run_2").status == "in_progress"
        assert store.version("run_2") == 1

    def test_moves_renew_and_release(self, store, store_url, clock):
        """A worker's move to in_progress/cancelling renews its lease; others release the run."""
        add(store)
        [run] = store.claim(1, worker="w1")
        clock.advance(20)
        with store.move(run, worker="w1") as moving:
            moving.cancel()
        clock.advance(20)  # 40 s after the claim, 20 after the renewal
        assert store.heartbeat("w1") == ["run_1"]
        with store.move(run, worker="w1") as moving:
            moving.finish_cancel()
        from tests.store.conftest import raw_sql

        assert raw_sql(store_url, "SELECT worker, lease_until FROM runlife_runs") == [(None, None)]
        assert store.heartbeat("w1") == []

    def test_heartbeat(self, store, clock):
        """Heartbeats keep leases that are still held, and cannot revive a lapsed one."""
        add(store, 1)
        add(store, 2)
        store.claim(1, worker="w1")
        store.claim(1, worker="w2")
        clock.advance(25)
        assert store.heartbeat("w1") == ["run_1"]
        assert store.heartbeat("w1", ["run_2"]) == []
        assert store.heartbeat("w1", []) == []
        clock.advance(25)  # w1 renewed at +25: held until +55; w2's lapsed at +30
        assert store.heartbeat("w2") == []
        assert store.heartbeat("w1") == ["run_1"]
        assert store.rescue().moved == ("run_2",)

    def test_requeued_run_has_tool_outputs(self, store):
        """Whoever claims a re-queued run finds the tool outputs submitted to it."""
        add(store)
        [run] = store.claim(1, worker="w1")
        assert store.tool_outputs("run_1") is None
        with store.move(run, worker="w1") as moving:
            moving.require_action([CALL])
        with store.move("run_1") as moving:
            moving.submit_tool_outputs(OUTPUTS)
        [again] = store.claim(1, worker="w2")
        assert again.id == "run_1"
        assert store.tool_outputs("run_1") == OUTPUTS


class TestExpire:
    def test_expires_due_active_runs_only(self, store, engine, clock):
        """Every active run past its deadline is expired once; others are untouched."""
        for n in range(1, 6):
            add(store, n)
            clock.advance(10)
        with store.move("run_2") as run:
            run.start()
        with store.move("run_3") as run:
            run.start()
            run.require_action([CALL])
        with store.move("run_4") as run:
            run.cancel()
        with store.move("run_1") as run:
            run.fail("server_error", "x")
        events = listen(engine)
        clock.set(T0 + 600 + 30)  # runs 1..4 are due (run_1 is terminal), run_5 is not
        sweep = store.expire_due()
        assert sweep.moved == ("run_2", "run_3", "run_4")
        assert len(sweep) == 3
        assert [e.event for e in events] == ["thread.run.expired"] * 3
        assert store.get("run_5").status == "queued"
        assert store.get("run_1").status == "failed"
        assert store.expire_due().moved == ()

    def test_batches_and_explicit_now(self, store):
        """Small batches still reach every due run; now may be given."""
        for n in range(7):
            add(store, n)
        assert store.expire_due(T0 + 599).moved == ()
        assert len(store.expire_due(T0 + 600, batch=2).moved) == 7
        assert store.counts() == {"expired": 7}

    def test_bad_arguments(self, store):
        """Batch sizes and times are checked."""
        with pytest.raises(ValueError, match="batch"):
            store.expire_due(batch=0)
        with pytest.raises(ValueError, match="now"):
            store.expire_due(-1)


class TestRescue:
    def test_rescue(self, store, clock):
        """Lapsed in_progress runs fail, lapsed or unheld cancelling runs are cancelled."""
        for n in range(1, 6):
            add(store, n)
        store.claim(2, worker="w1")  # run_1, run_2
        with store.move("run_2") as run:  # cancelled under its worker
            run.cancel()
        with store.move("run_3") as run:  # cancelled while queued: nobody holds it
            run.cancel()
        store.claim(1, worker="w2")  # run_4, heartbeating
        assert store.rescue().moved == ("run_3",)
        clock.advance(20)
        assert store.heartbeat("w2") == ["run_4"]
        clock.advance(11)
        sweep = store.rescue()
        assert sweep.moved == ("run_1", "run_2")
        failed = store.get("run_1")
        assert failed.status == "failed"
        assert failed.last_error is not None
        assert failed.last_error.code == "server_error"
        assert failed.last_error.message == (
            f"the worker running it (w1) stopped: its lease lapsed at {T0 + 30}"
        )
        assert store.get("run_2").status == "cancelled"
        assert store.get("run_4").status == "in_progress"
        assert store.get("run_5").status == "queued"
        assert store.rescue().moved == ()


class TestHistory:
    def test_arguments_kept(self, store, clock):
        """History rows keep each move's trigger, statuses, time and arguments."""
        add(store)
        with store.move("run_1") as run:
            run.start()
            run.require_action([CALL])
        clock.advance(2)
        with store.move("run_1") as run:
            run.submit_tool_outputs(OUTPUTS)
            run.start()
            run.complete(USAGE)
        moves = store.history("run_1")
        assert [(m.trigger, m.source, m.dest) for m in moves] == [
            ("start", "queued", "in_progress"),
            ("require_action", "in_progress", "requires_action"),
            ("submit_tool_outputs", "requires_action", "queued"),
            ("start", "queued", "in_progress"),
            ("complete", "in_progress", "completed"),
        ]
        assert moves[1].args == {"tool_calls": [CALL]}
        assert moves[2].args == {"tool_outputs": OUTPUTS}
        assert moves[4].args == {"usage": USAGE}
        assert moves[4].at == T0 + 2

    def test_follow_without_missing_a_state(self, store):
        """A follower reading events_since(last version) sees every state, with its body."""
        add(store)
        seen = store.events_since("run_1")
        assert [(e.version, e.event) for e in seen] == [(0, "thread.run.created")]
        with store.move("run_1") as run:
            run.start()
            run.require_action([CALL])
        with store.move("run_1") as run:
            run.cancel()
        new = store.events_since("run_1", seen[-1].version)
        assert [(e.version, e.event, e.data["status"]) for e in new] == [
            (1, "thread.run.in_progress", "in_progress"),
            (2, "thread.run.requires_action", "requires_action"),
            (3, "thread.run.cancelling", "cancelling"),
        ]
        assert new[-1].data == to_dict(store.get("run_1"))
        assert store.events_since("run_1", 3) == []
        assert len(store.events_since("run_1", 0, limit=2)) == 2
        assert store.events_since("run_1", limit=1) == seen
        assert new[0].to_move().trigger == "start"
        with pytest.raises(ValueError, match="is a create"):
            seen[0].to_move()

    @pytest.mark.parametrize("seed", range(4))
    def test_replay_rebuilds_the_stored_run(self, store, clock, seed):
        """Applying the stored moves at their times to the creation wire gives the stored run."""
        rng = random.Random(seed)
        add(store)
        for step in range(12):
            clock.advance(rng.randrange(3))
            run = store.get("run_1")
            if run.status.is_terminal:
                break
            if rng.random() < 0.2:
                store.update_metadata("run_1", {"step": str(step)})
                continue
            options = [
                (t, a)
                for t, a in VALID_ARGS.items()
                if t != "expire" and getattr(run, f"may_{t}")(**a)
            ]
            trigger, args = rng.choice(options)
            with store.move("run_1") as moving:
                getattr(moving, trigger)(**args)
        events = store.events_since("run_1")
        now = [T0]
        engine = RunEngine(clock=lambda: now[0])
        rebuilt = engine.load(events[0].data)
        for event in events[1:]:
            now[0] = event.at
            if event.kind == "metadata":
                data = to_dict(rebuilt)
                data["metadata"] = event.args["metadata"]
                rebuilt = engine.load(data)
            else:
                assert event.trigger is not None
                getattr(rebuilt, event.trigger)(**event.args)
            assert to_dict(rebuilt) == event.data
        assert to_dict(rebuilt) == to_dict(store.get("run_1"))
        assert check(store.get("run_1")) == []


class TestMetadata:
    def test_update(self, store, engine):
        """Metadata is replaced compare-and-set, on any run, without an event or a move."""
        add(store, metadata={"a": "1"})
        with store.move("run_1") as run:
            run.fail("server_error", "x")
        events = listen(engine)
        updated = store.update_metadata("run_1", {"b": "2"})
        assert updated.metadata == {"b": "2"}
        assert updated.status == "failed"
        assert store.get("run_1").metadata == {"b": "2"}
        assert store.version("run_1") == 2
        assert events == []
        [row] = store.events_since("run_1", 1)
        assert (row.kind, row.event, row.args) == ("metadata", None, {"metadata": {"b": "2"}})
        assert [m.trigger for m in store.history("run_1")] == ["fail"]

    @pytest.mark.parametrize(
        ("metadata", "path"),
        [
            ({f"k{i}": "v" for i in range(17)}, "$.metadata"),
            ({"k" * 65: "v"}, "$.metadata"),
            ({"k": "v" * 513}, "$.metadata.k"),
            ({"k": 1}, "$.metadata.k"),
        ],
        ids=["17 pairs", "long key", "long value", "not a string"],
    )
    def test_rules(self, store, metadata, path):
        """The creation rules apply; a refused update writes nothing."""
        add(store)
        with pytest.raises(InvalidRun) as info:
            store.update_metadata("run_1", metadata)
        assert info.value.run_id == "run_1"
        assert [p for p, _ in info.value.errors] == [path]
        assert store.version("run_1") == 0


class TestList:
    @pytest.fixture(name="ids")
    def _ids(self, store, clock):
        ids = []
        for n in range(7):
            add(store, n, thread_id="thread_t")
            ids.append(f"run_{n}")
            if n < 6:
                with store.move(f"run_{n}") as run:
                    run.fail("server_error", "x")
            clock.advance(1)
        add(store, 99, thread_id="thread_other")
        return ids

    def test_pages(self, store, ids):
        """Pages follow the API: newest first by default, cursors, has_more."""
        page = store.list_runs("thread_t", limit=3)
        assert [r.id for r in page.data] == ids[::-1][:3]
        assert (page.first_id, page.last_id, page.has_more, page.object) == (
            "run_6",
            "run_4",
            True,
            "list",
        )
        page = store.list_runs("thread_t", limit=3, after=page.last_id)
        assert [r.id for r in page.data] == ["run_3", "run_2", "run_1"]
        page = store.list_runs("thread_t", limit=3, after=page.last_id)
        assert ([r.id for r in page.data], page.has_more) == (["run_0"], False)
        back = store.list_runs("thread_t", limit=2, before="run_2")
        assert ([r.id for r in back.data], back.has_more) == (["run_4", "run_3"], True)

    def test_ascending_and_filters(self, store, ids):
        """Ascending order, both cursors, and a status filter."""
        page = store.list_runs("thread_t", order="asc", limit=100)
        assert [r.id for r in page.data] == ids
        page = store.list_runs("thread_t", order="asc", after="run_1", before="run_5")
        assert [r.id for r in page.data] == ["run_2", "run_3", "run_4"]
        assert [r.id for r in store.list_runs("thread_t", status="queued").data] == ["run_6"]
        assert store.list_runs("thread_none").data == []

    def test_bad_arguments(self, store, ids):
        """Cursors of another thread, limits and orders are checked."""
        with pytest.raises(RunNotFound, match="no run run_99 in thread thread_t"):
            store.list_runs("thread_t", after="run_99")
        with pytest.raises(ValueError, match="limit"):
            store.list_runs("thread_t", limit=101)
        with pytest.raises(ValueError, match="order"):
            store.list_runs("thread_t", order="up")
        with pytest.raises(ValueError, match="did you mean 'queued'"):
            store.list_runs("thread_t", status="queue")


class TestPurge:
    def test_purge(self, store, clock):
        """Purge deletes old terminal runs and their history, in batches, never active ones."""
        for n in range(5):
            add(store, n)
            if n != 2:
                with store.move(f"run_{n}") as run:
                    run.fail("server_error", "x")
            clock.advance(10)
        assert store.purge(T0 + 35, batch=2) == 3  # run_0, run_1, run_3 (run_2 is active)
        assert store.counts() == {"failed": 1, "queued": 1}
        with pytest.raises(RunNotFound):
            store.events_since("run_0")
        assert store.purge(T0 + 1000) == 1
        assert store.counts() == {"queued": 1}


class TestSharing:
    def test_threads_share_a_store(self, store_url):
        """One store object serves many threads at once, each with its own connection."""
        clock = ManualClock(T0)
        with open_store(store_url, engine=RunEngine(clock=clock), pool_size=4) as store:
            for n in range(40):
                add(store, n)
            errors: list[BaseException] = []
            done: list[str] = []

            def work(name: str) -> None:
                try:
                    while runs := store.claim(2, worker=name):
                        for run in runs:
                            with store.move(run, worker=name) as moving:
                                moving.complete(USAGE)
                            done.append(run.id)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert errors == []
            assert sorted(done) == sorted(f"run_{n}" for n in range(40))
            assert store.counts() == {"completed": 40}

    def test_memory_store(self):
        """sqlite:///:memory: works, also from several threads."""
        with open_store("sqlite:///:memory:") as store:
            add(store)
            seen: list[str] = []
            t = threading.Thread(target=lambda: seen.append(store.get("run_1").id))
            t.start()
            t.join()
            assert seen == ["run_1"]
