"""What a call costs: a local price table (shipped with Podium, overridden by the user's own
file and config), and the cost of a call from its token counts. Nothing is fetched."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

PER_MILLION = 1_000_000


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens."""

    input: float
    output: float

    def __post_init__(self) -> None:
        if self.input < 0 or self.output < 0:
            raise ValueError("prices cannot be negative")

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input + tokens_out * self.output) / PER_MILLION


FREE = Price(0.0, 0.0)


def _read_table(text: str, source: str) -> dict[str, Price]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"price table {source} is not valid TOML: {exc}") from exc
    table: dict[str, Price] = {}
    for model, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            raise ValueError(f"price table {source}: entry {model!r} needs exactly `input` and "
                             "`output` (US dollars per million tokens)")
        try:
            table[model.lower()] = Price(float(entry["input"]), float(entry["output"]))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"price table {source}: entry {model!r}: {exc}") from exc
    return table


class PriceTable:
    """Prices by model name. Later sources override earlier ones: the packaged table, then
    the user's file, then entries given in the config."""

    def __init__(self, prices: Mapping[str, Price]) -> None:
        self._prices = {name.lower(): price for name, price in prices.items()}

    @classmethod
    def load(cls, user_file: Path | None = None,
             overrides: Mapping[str, Price] | None = None) -> PriceTable:
        """The packaged table with ``user_file`` (if given; it must exist) and ``overrides``
        on top. Raises ValueError naming the file and entry that is wrong."""
        packaged = resources.files("podium.providers").joinpath("prices.toml")
        prices = _read_table(packaged.read_text(encoding="utf-8"), "prices.toml (packaged)")
        if user_file is not None:
            try:
                text = Path(user_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"cannot read the price file {user_file}: {exc}") from exc
            prices |= _read_table(text, str(user_file))
        return cls(prices | {k.lower(): v for k, v in (overrides or {}).items()})

    def price(self, model: str) -> Price | None:
        """The price of ``model``: an exact entry, else the longest entry it starts with
        (dated and tagged variants share their family's price); None when unknown."""
        name = model.lower().rsplit("/", 1)[-1]  # "models/gemini-2.5-pro", "openai/gpt-4o"
        if name in self._prices:
            return self._prices[name]
        matches = [key for key in self._prices if name.startswith(key)]
        return self._prices[max(matches, key=len)] if matches else None
