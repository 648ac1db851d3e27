"""``runlife serve`` at its edges, as real subprocesses: a port in use, an executor module in
the working directory (``--app-dir``), and the options of the connection limits."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.serve.conftest import within

import runlife.serve
from runlife.cli import main
from runlife.serve import ServeConfig

EXECUTOR = textwrap.dedent(
    """
    from runlife.serve import Complete


    def my_executor(turn):
        return Complete({"prompt_tokens": 7, "completion_tokens": 7, "total_tokens": 14})
    """
)


def _env() -> dict[str, str]:
    """The environment without PYTHONPATH (the module must be found without it)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def serve_command(*options: str) -> list[str]:
    return [sys.executable, "-m", "runlife", "serve", *options]


def test_a_port_in_use_names_the_address_and_creates_nothing(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            serve_command("--store", f"sqlite:///{tmp_path}/r.db", "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"runlife serve: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert not (tmp_path / "r.db").exists()  # the address is tried before the store


@contextlib.contextmanager
def serving(cwd: Path, *options: str) -> Iterator[str]:
    """``runlife serve`` started in *cwd* (no PYTHONPATH); its base URL."""
    proc = subprocess.Popen(
        serve_command("--store", f"sqlite:///{cwd}/runs.db", "--port", "0", *options),
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = within(60, proc.stdout.readline)
        if "listening on " not in line:
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"runlife serve did not start: {line!r} {err}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)


def completed_run(base: str) -> Any:
    from openai import OpenAI

    client = OpenAI(base_url=base, api_key="x", max_retries=0, timeout=20)
    try:
        runs = client.beta.threads.runs
        return within(60, runs.create_and_poll, thread_id="thread_1", assistant_id="a")
    finally:
        client.close()


@pytest.mark.parametrize(
    ("where", "options"),
    [("", ()), ("executors", ("--app-dir", "executors"))],
    ids=["working directory", "--app-dir"],
)
def test_an_executor_module_is_found_in_the_app_dir(
    tmp_path: Path, where: str, options: tuple[str, ...]
) -> None:
    """``mymod.py`` beside the server (or in ``--app-dir``) is the executor, in the server
    and in its workers, with no PYTHONPATH."""
    (tmp_path / where).mkdir(exist_ok=True)
    (tmp_path / where / "mymod.py").write_text(EXECUTOR)
    with serving(tmp_path, "--workers", "1", "--executor", "mymod:my_executor", *options) as base:
        run = completed_run(base)
    assert run.status == "completed"
    assert run.usage.total_tokens == 14


def test_an_executor_module_not_in_the_app_dir_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "mymod.py").write_text(EXECUTOR)
    done = subprocess.run(
        serve_command("--store", f"sqlite:///{tmp_path}/r.db", "--executor", "mymod:my_executor"),
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot import mymod: No module named 'mymod'" in done.stderr


@pytest.fixture(name="configs")
def _configs(monkeypatch: pytest.MonkeyPatch) -> list[ServeConfig]:
    """The ServeConfigs ``runlife serve`` would run (``runlife.serve.serve`` stood in for)."""
    monkeypatch.delenv("RUNLIFE_API_KEY", raising=False)
    seen: list[ServeConfig] = []

    def stand_in(config: ServeConfig, *, ready: Callable[[str], None] | None = None) -> int:
        seen.append(config)
        return 0

    monkeypatch.setattr(runlife.serve, "serve", stand_in)
    return seen


def test_the_commands_defaults_are_serve_configs(configs: list[ServeConfig]) -> None:
    """Every default ``runlife serve`` shows is ServeConfig's own (the CLI cannot import it)."""
    assert main(["serve", "--store", "s"]) == 0
    assert configs == [ServeConfig(store="s")]
    assert {f.name for f in attrs.fields(ServeConfig)} >= {
        "header_timeout",
        "body_timeout",
        "max_connections",
        "app_dir",
    }


def test_the_limit_options(configs: list[ServeConfig]) -> None:
    argv = ["serve", "--store", "s", "--header-timeout", "0.5", "--body-timeout", "2"]
    assert main([*argv, "--max-connections", "7", "--app-dir", "src"]) == 0
    (config,) = configs
    assert (config.header_timeout, config.body_timeout, config.max_connections) == (0.5, 2.0, 7)
    assert config.app_dir == "src"


@pytest.mark.parametrize("text", ["0", "-1", "x", "nan", "inf", ""])
@pytest.mark.parametrize("option", ["--header-timeout", "--body-timeout"])
def test_bad_timeouts_are_usage_errors(
    option: str, text: str, configs: list[ServeConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--store", "s", option, text])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"runlife serve: error: argument {option}: expected a number of seconds > 0, got {text!r}\n"
    )
    assert configs == []
