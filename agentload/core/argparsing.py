"""The agentload command's parsers: a mistake on the command line is one line, not the usage block."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, TypeVar

# the parser class of a sub-command table (``argparse._SubParsersAction[Parser]``): each role's
# add_parser(s) takes the agentload command's (OneLineParser) or a plain argparse one alike
Parser = TypeVar("Parser", bound=argparse.ArgumentParser)


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser whose errors are the one line that matters, naming the flag, and exit 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("agentload").strip()
        where = f"{command}: " if command else ""
        print(f"agentload: {where}{message} ({self.prog} --help lists the options)", file=sys.stderr)
        raise SystemExit(2)
