"""Coverage-guided fuzzing of every parser of outside data, with atheris.

    scripts/fuzz.sh [SECONDS]        (installs atheris where it has wheels: x86_64)

Each target feeds raw bytes to one parser. A parser may return anything or
raise its own documented error (CouldNotEvaluate); any other exception is a
crash, which atheris reports with the input that caused it.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with atheris.instrument_imports():
    from envtest.errors import CouldNotEvaluate, UsageError
    from envtest.gather.terraform import parse_outputs_json, parse_state
    from envtest.parsers import allowed_images, pipeline, runner_config, squid_allowlist
    from envtest.settings import parse_key_value_lines


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


TARGETS = {
    "allowlist": lambda data: squid_allowlist.parse(_text(data)),
    "allowed_images": lambda data: allowed_images.parse(_text(data)),
    "runner_config": lambda data: runner_config.parse(_text(data)),
    "pipeline": lambda data: pipeline.parse(_text(data), "dev"),
    "terraform_state": lambda data: parse_state(data, "fuzz"),
    "terraform_outputs": lambda data: parse_outputs_json(data, "fuzz"),
    "key_value": lambda data: parse_key_value_lines(_text(data), "fuzz"),
}


def main() -> None:
    target = TARGETS[sys.argv[1]]

    def one_input(data: bytes) -> None:
        # A clear, documented error is a verdict; anything else escapes and is a crash.
        with contextlib.suppress(CouldNotEvaluate, UsageError):
            target(data)

    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
