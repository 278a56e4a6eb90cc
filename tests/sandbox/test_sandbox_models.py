import pydantic
import pytest

from podium.sandbox import IsolationLevel, SandboxLimits


def test_limits_defaults() -> None:
    limits = SandboxLimits()

    assert (limits.wall_seconds, limits.cpu_seconds) == (60.0, 30)
    assert (limits.memory_bytes, limits.file_size_bytes) == (1 << 30, 64 << 20)
    assert limits.output_chars == 20_000


@pytest.mark.parametrize(
    "field", ["wall_seconds", "cpu_seconds", "memory_bytes", "file_size_bytes", "output_chars"]
)
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        SandboxLimits(**{field: 0})


def test_limits_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        SandboxLimits().wall_seconds = 1.0  # type: ignore[misc]


def test_isolation_level_values_are_recordable_strings() -> None:
    assert IsolationLevel.BUBBLEWRAP.value == "bubblewrap"
    assert IsolationLevel("limits-only") is IsolationLevel.LIMITS_ONLY
    assert isinstance(IsolationLevel.BUBBLEWRAP, str)
