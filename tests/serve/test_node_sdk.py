"""``runlife serve`` driven by the official openai *Node* SDK (``tests/node/smoke.mjs``).

The script runs under ``node`` against the shared server of each backend (a real
``runlife serve`` process group, see ``conftest.py``); a failing check fails the test with the
script's output. It needs ``node`` and the SDK installed by ``npm ci`` in ``tests/node``
(``.ci/run`` does that before pytest): without them the cases skip, except under CI (``CI``
set), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.serve.conftest import KEY

NODE_PROJECT = Path(__file__).parents[1] / "node"
SCRIPT = NODE_PROJECT / "smoke.mjs"
TIMEOUT = 120  # seconds: the script's own watchdog is 60 s


def node() -> str:
    """The ``node`` executable with the SDK installed; skip (under CI: fail) without them."""
    found = shutil.which("node")
    pinned = json.loads((NODE_PROJECT / "package.json").read_text())["dependencies"]["openai"]
    installed = NODE_PROJECT / "node_modules" / "openai" / "package.json"
    if found is None:
        problem = "no `node` on PATH (Debian: apt-get install nodejs npm)"
    elif not installed.is_file():
        problem = f"the openai Node SDK {pinned} is not installed: run `npm ci` in tests/node"
    elif (version := json.loads(installed.read_text())["version"]) != pinned:
        problem = f"tests/node has openai {version}, not the pinned {pinned}: run `npm ci` there"
    else:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {problem}", pytrace=False)
    pytest.skip(problem)


def run_script(check: str, base_url: str) -> None:
    """Run ``smoke.mjs CHECK`` against *base_url*; an ``AssertionError`` with its output
    when it fails."""
    executable = node()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env |= {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": KEY}
    done = subprocess.run(
        [executable, str(SCRIPT), check],
        cwd=NODE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    output = f"--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    if done.returncode != 0:
        raise AssertionError(f"node smoke.mjs {check} exited {done.returncode}\n{output}")
    assert f"all {check} checks passed" in done.stdout, output


def test_node_sdk(server):
    """Threads, runs one after another, runs.list auto-pagination (both orders: every run once,
    by created_at), runs.update, a tool-output round trip and its runs.steps.list (pages of
    one), threads.createAndRunPoll to a
    terminal status, request ids and NotFoundError, the API's key order: all from Node."""
    run_script("sdk", server.url)


def test_node_list_order_within_a_second(server):
    """Runs created within the same second are listed in creation order (asc and desc)."""
    run_script("order", server.url)
