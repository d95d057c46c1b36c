"""The test material that is not ours: the real published Socialudvalget agenda (the seed) and
the OParl 1.1 schemas. Both are read from `../shared` beside the project and never copied in.

A clone elsewhere fails those tests with one plain sentence each, not with a FileNotFoundError
deep inside a fixture."""

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"../shared/{'/'.join(parts)} is missing: the seed agenda and the OParl "
                    "schemas are read from ../shared beside the project (see the README)",
                    pytrace=False)
    return path


def seed_agenda() -> str:
    """The Socialudvalget agenda of 04-10-2022 as published (text)."""
    return shared("seed", "socialudvalget-2022-10-04.txt").read_text(encoding="utf-8")


def oparl_schemas() -> Path:
    """The folder of OParl's JSON schemas (one file per object type)."""
    return shared("oparl")
