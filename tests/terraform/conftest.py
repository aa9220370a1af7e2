"""Fixtures of the offline Terraform tests (helpers live in tfhelpers.py)."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    assert path, "terraform is not on PATH (the Terraform tests need Terraform >= 1.5)"
    return path
