"""The `wildrydes` command.

Argparse wiring only: each sub-command module exposes ``register(subparsers)``; the module adds its
parser and sets ``func`` (called with the parsed args, returns an exit code). Modules are imported only
when listed here, so a new command is one module plus one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from wildrydes.errors import CommandError

DESCRIPTION = (
    "Wild Rydes ML: generate ride and weather data, reduce GHCN-D weather, train and publish the"
    " Linear Learner model, score requests, and replay dead-letter queues, locally or on AWS."
)

# Order here is the order in `wildrydes --help`.
COMMAND_MODULES = (
    "wildrydes.generate",
    "wildrydes.cli.weather",
    "wildrydes.cli.train",
    "wildrydes.cli.models",
    "wildrydes.predict",
    "wildrydes.redrive",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wildrydes", description=DESCRIPTION)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"wildrydes {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
