"""Real faults, caused from a test or from a worker process: PostgreSQL restarts, immutable files.

The PostgreSQL server is the one ``scripts/pg-test-server.sh start`` made: its directory is
``RUNLIFE_TEST_PG_DIR`` (``data/`` the cluster, ``bin`` the file naming the binaries'
directory, ``server.log`` its log). ``pg_ctl restart`` reuses the server's own options
(``data/postmaster.opts``) and, as root, runs as the ``postgres`` user as the script does.

Root is not stopped by file modes: ``chmod 0444`` leaves a file writable for root (and for
descriptors already open), so a read-only SQLite file is made with ``chattr +i``
(immutable: refused to everyone, open descriptors included), which needs root. The
``-shm`` file is left alone (see ``read_only_files``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

PG_DIR_ENV = "RUNLIFE_TEST_PG_DIR"


def can_chattr() -> bool:
    """Whether this process can make files immutable (root, and ``chattr`` installed)."""
    return os.geteuid() == 0 and shutil.which("chattr") is not None


def read_only_files(directory: Path) -> list[Path]:
    """The files of the SQLite store in *directory* that a read-only window makes immutable:
    the database and its WAL. Not ``-shm``: SQLite maps it, and a connection opened while it
    cannot grow dies of SIGBUS inside SQLite (a process crash, not an error)."""
    return [directory / "runs.db", directory / "runs.db-wal"]


def immutable(paths: Iterable[Path], *, on: bool) -> None:
    """``chattr +i`` (or ``-i``) the existing files among *paths*."""
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        subprocess.run(["chattr", "+i" if on else "-i", *existing], check=True, timeout=30)


def _pg_ctl(*args: str) -> subprocess.CompletedProcess[str]:
    directory = Path(os.environ[PG_DIR_ENV])
    binaries = (directory / "bin").read_text().strip()
    command = [f"{binaries}/pg_ctl", "-D", str(directory / "data"), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    # -l keeps the server's output out of our pipes (else run() would wait for the server).
    return subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=90, stdin=subprocess.DEVNULL
    )


def pg_restart() -> None:
    """``pg_ctl restart -m fast``: every connection is cut; back when it returns."""
    log = str(Path(os.environ[PG_DIR_ENV]) / "server.log")
    done = _pg_ctl("restart", "-m", "fast", "-w", "-t", "60", "-l", log)
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed ({done.returncode}): {done.stderr}")


def pg_running() -> bool:
    """Whether the test server is up."""
    return _pg_ctl("status").returncode == 0


def pg_ensure_up() -> None:
    """Start the test server again if a test left it down (restart also starts a stopped one)."""
    if not pg_running():
        pg_restart()
