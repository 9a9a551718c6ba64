"""What the command lines of ``sim.compare`` and ``sim.ema`` share: bad input is one line, never a usage dump."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises ``error_type`` (one line: what was refused and what is allowed) instead of
    printing usage and exiting, so that the caller can print it and exit with status 2."""

    error_type: type[Exception] = ValueError

    def error(self, message: str) -> NoReturn:
        if message.startswith("argument ") and "; allowed: " in message:  # a value refused by an argument type
            raise self.error_type(message.removeprefix("argument "))
        raise self.error_type(f"{message}; allowed: see {self.prog} --help")


def whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number at least ``minimum``, else a one-line refusal."""

    def parse(text: str) -> int:
        if not re.fullmatch(r"\d+", text.strip()) or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: a whole number >= {minimum}")
        return int(text)
    return parse
