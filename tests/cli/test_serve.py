"""``runlife serve``: its options become a ServeConfig; the ready line; usage and store errors.

The service itself is tested in tests/serve (real processes); here ``runlife.serve.serve`` is
replaced by a stand-in, so these tests see only what the command does.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

import runlife.serve
from runlife.cli import main
from runlife.store import StoreURLError


class FakeServe:
    def __init__(self, result: int | Exception = 0) -> None:
        self.result = result
        self.configs: list[Any] = []

    def __call__(self, config: Any, *, ready: Callable[[str], None] | None = None) -> int:
        self.configs.append(config)
        if isinstance(self.result, Exception):
            raise self.result
        assert ready is not None
        ready(f"http://{config.host}:{config.port}/v1")
        return self.result


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeServe:
    monkeypatch.delenv("RUNLIFE_API_KEY", raising=False)
    stand_in = FakeServe()
    monkeypatch.setattr(runlife.serve, "serve", stand_in)
    return stand_in


def test_defaults(fake: FakeServe, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--store", "sqlite:///runs.db"]) == 0
    (config,) = fake.configs
    assert (config.store, config.host, config.port, config.workers) == (
        "sqlite:///runs.db",
        "127.0.0.1",
        8000,
        2,
    )
    assert (config.executor, config.api_key, config.concurrency, config.lease, config.ttl) == (
        "demo",
        None,
        4,
        30,
        600,
    )
    assert (config.poll_after_ms, config.poll_wait_ms, config.max_body_bytes) == (25, 250, 1 << 20)
    assert (config.default_model, config.log_level) == ("runlife-demo", "warning")
    assert capsys.readouterr() == ("runlife serve: listening on http://127.0.0.1:8000/v1\n", "")


def test_options(fake: FakeServe, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNLIFE_API_KEY", "from-env")
    argv = ["serve", "--store", "s", "--port", "0", "--workers", "3", "--concurrency", "8"]
    argv += ["--lease", "5", "--ttl", "60", "--poll-after-ms", "0", "--poll-wait-ms", "0"]
    argv += ["--max-body-bytes", "1024", "--default-model", "m", "--log-level", "debug"]
    argv += ["--host", "0.0.0.0", "--executor", "pkg.mod:fn"]  # noqa: S104 - parsed, not bound
    assert main(argv) == 0
    (config,) = fake.configs
    assert config.api_key == "from-env"
    assert (config.port, config.workers, config.concurrency, config.lease, config.ttl) == (
        0,
        3,
        8,
        5,
        60,
    )
    assert (config.poll_after_ms, config.poll_wait_ms, config.max_body_bytes) == (0, 0, 1024)
    assert (config.default_model, config.log_level, config.executor) == ("m", "debug", "pkg.mod:fn")


@pytest.mark.parametrize(
    ("option", "text", "allowed"),
    [
        ("--port", "-1", "from 0 to 65535"),
        ("--port", "http", "from 0 to 65535"),
        ("--port", "99999", "from 0 to 65535"),
        ("--port", "65536", "from 0 to 65535"),
        ("--workers", "-1", ">= 0"),
        ("--lease", "0", ">= 1"),
    ],
)
def test_bad_numbers_are_usage_errors(
    option: str, text: str, allowed: str, fake: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--store", "s", option, text])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(
        f"runlife serve: error: argument {option}: expected an int {allowed}, got '{text}'\n"
    )
    assert "_" not in err.rpartition("error:")[2].replace("max_", "")  # no internal names
    assert fake.configs == []


def test_no_workers_is_refused_with_the_way_to_run_them_elsewhere(
    fake: FakeServe, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--store", "s", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("runlife serve: error: argument --workers: 0 workers")
    assert "runlife.serve.Worker" in err
    assert "create_app" in err
    assert fake.configs == []


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (StoreURLError("unsupported store URL scheme 'mysql'"), 2),
        (ValueError("--host 0.0.0.0 needs an API key"), 2),
        (OSError("address already in use"), 1),
    ],
)
def test_errors(
    exc: Exception, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(runlife.serve, "serve", FakeServe(exc))
    assert main(["serve", "--store", "s"]) == code
    assert capsys.readouterr() == ("", f"runlife serve: {exc}\n")


def test_without_the_extra(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["serve", "--store", "s"]) == 2
    assert capsys.readouterr() == (
        "",
        (
            "runlife serve: uvicorn is missing: "
            'pip install ".[serve]" from a checkout of runlife, '
            'or pip install "runlife[serve]" once it is on a package index\n'
        ),
    )
