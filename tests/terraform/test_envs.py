"""envs/*.tfvars: only declared root variables, and each one plans the root module offline."""

from __future__ import annotations

import hcl2
import pytest
from tfhelpers import REPO_ROOT
from tfhelpers import ROOT_TEST_BUCKET as BUCKET

ENVS_DIR = REPO_ROOT / "envs"
ENV_FILES = sorted(p.name for p in ENVS_DIR.glob("*.tfvars"))


def declared_root_variables() -> set[str]:
    names: set[str] = set()
    for tf_file in REPO_ROOT.glob("*.tf"):
        with tf_file.open() as handle:
            for block in hcl2.load(handle).get("variable", []):
                names.update(block)
    return names


def env_values(name: str) -> dict:
    with (ENVS_DIR / name).open() as handle:
        # bc-python-hcl2 (checkov's parser) wraps every attribute value in a one-element list.
        return {key: value[0] for key, value in hcl2.load(handle).items()}


def test_dev_and_prod_exist():
    assert {"dev.tfvars", "prod.tfvars"} <= set(ENV_FILES)


@pytest.mark.parametrize("name", ENV_FILES)
def test_env_sets_only_declared_variables(name):
    # Terraform only warns about an undeclared variable in a var file: a typo would silently do nothing.
    undeclared = set(env_values(name)) - declared_root_variables()
    assert not undeclared, f"envs/{name} sets variables the root does not declare: {sorted(undeclared)}"


@pytest.mark.parametrize("name", ENV_FILES)
def test_env_plans_offline(root, name):
    # data_bucket_name is given because the offline provider cannot look up the account id it derives from.
    plan = root.plan(output=True, tf_var_file=str(ENVS_DIR / name), tf_vars={"data_bucket_name": BUCKET})
    expected_prefix = env_values(name)["name_prefix"]
    assert plan.outputs["ingest_function_name"] == f"{expected_prefix}-ingest"
    assert plan.variables["name_prefix"] == expected_prefix


def test_prod_and_dev_differ_where_it_matters():
    dev, prod = env_values("dev.tfvars"), env_values("prod.tfvars")
    assert dev["data_bucket_force_destroy"] is True and prod["data_bucket_force_destroy"] is False
    assert dev["name_prefix"] != prod["name_prefix"]
