"""Shared helpers: run the CLI's main() in-process and capture what it prints."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from parbench_tools.cli import main  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name: str) -> str:
    return os.path.join(FIXTURES, name)


@pytest.fixture
def cli(capsys):
    """cli(*args) -> (exit status, stdout, stderr)."""

    def run(*args):
        try:
            status = main(list(args))
        except SystemExit as e:  # argparse's --help and usage errors
            status = e.code
        out, err = capsys.readouterr()
        return status, out, err

    return run
