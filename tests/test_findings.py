"""Tests of ``runlife._findings``: the finding record and the paths and quotes of messages."""

from __future__ import annotations

import attrs
import pytest

from runlife import Finding, RunStatus, check
from runlife._findings import key_path, quote
from tests.check_support import payload


class TestFinding:
    """The finding record."""

    def test_str(self) -> None:
        """A finding reads as one line: path, message, kind and code."""
        finding = Finding("rule", "out-of-range", "$.top_p", "expected null or a number in [0, 1]")
        assert str(finding) == "$.top_p: expected null or a number in [0, 1] [rule/out-of-range]"

    def test_frozen_and_hashable(self) -> None:
        """Findings are immutable values that compare and hash by their fields."""
        one = Finding("structure", "missing-field", "$.id", "missing")
        assert one == Finding("structure", "missing-field", "$.id", "missing")
        assert len({one, Finding("structure", "missing-field", "$.id", "missing")}) == 1
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            one.path = "$"  # type: ignore[misc]


class TestPaths:
    """Paths name a key as ``.key``, or JSON-quoted in brackets when it is no identifier."""

    @pytest.mark.parametrize(
        ("key", "path"),
        [
            ("name", "$.metadata.name"),
            ("_k2", "$.metadata._k2"),
            ("a b", '$.metadata["a b"]'),
            ("0", '$.metadata["0"]'),
            ("", '$.metadata[""]'),
            ("é", '$.metadata["é"]'),
            ('say "hi"', '$.metadata["say \\"hi\\""]'),
        ],
    )
    def test_key_path(self, key: str, path: str) -> None:
        assert key_path("$.metadata", key) == path

    def test_long_key_is_cut(self) -> None:
        """A key over 100 characters is cut to 100, with an ellipsis inside the quotes."""
        assert key_path("$", "-" * 101) == f'$["{"-" * 100}…"]'
        assert key_path("$", "-" * 100) == f'$["{"-" * 100}"]'

    def test_path_in_a_finding(self) -> None:
        """A metadata value's finding has the key's path."""
        data = payload()
        data["metadata"] = {"a b": 1}
        assert [f.path for f in check(data)] == ['$.metadata["a b"]']


class TestQuote:
    """``quote`` is the repr of a string, of a ``str`` subclass too."""

    def test_status_member(self) -> None:
        assert quote(RunStatus.QUEUED) == "'queued'"
        assert quote("it's") == '"it\'s"'
