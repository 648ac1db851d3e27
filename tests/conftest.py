from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.getenv("HYPOTHESIS_PROFILE", "dev"))

PAYLOADS = Path(__file__).parent / "data" / "payloads"
# The recorded run, in the order it happened.
PAYLOAD_ORDER = (
    "openai-dotnet-queued-1.json",
    "openai-dotnet-in_progress-1.json",
    "openai-dotnet-requires_action-1.json",
    "openai-dotnet-queued-2.json",
    "openai-dotnet-in_progress-2.json",
    "openai-dotnet-completed-1.json",
)


def load_payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


@pytest.fixture(name="payloads")
def _payloads() -> list[dict[str, Any]]:
    return [load_payload(n) for n in PAYLOAD_ORDER]
