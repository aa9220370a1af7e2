"""Pure parts of wildrydes_dev/tf_local.py: the generated provider override and the emulator identity."""

from __future__ import annotations

from pathlib import Path

import pytest

from wildrydes_dev import emulators, tf_local

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A TfLocal whose work dir is under tmp_path and whose emulator boot id the test controls."""
    monkeypatch.setattr(tf_local, "WORK_ROOT", tmp_path / "tf-local")
    monkeypatch.setattr(tf_local, "ROOT", tmp_path)
    boot = {"id": "boot-a"}
    monkeypatch.setattr(emulators, "boot_id", lambda port=None: boot["id"])
    tf = tf_local.TfLocal(4999, 5000, quiet=True)
    tf.work_dir.mkdir(parents=True)
    return tf, boot


def test_state_of_an_earlier_emulator_instance_is_set_aside(isolated, capsys):
    tf, boot = isolated
    tf.follow_emulators()  # first use records the instance
    (tf.work_dir / "terraform.tfstate").write_text('{"resources": [1]}')
    tf.follow_emulators()  # same instance: the state stays
    assert (tf.work_dir / "terraform.tfstate").exists()
    boot["id"] = "boot-b"  # the emulators were restarted
    tf.follow_emulators()
    assert not (tf.work_dir / "terraform.tfstate").exists()
    aside = list(tf.work_dir.glob("stale-boot-a-*/terraform.tfstate"))
    assert len(aside) == 1 and aside[0].read_text() == '{"resources": [1]}'
    assert "belonged to an earlier emulator instance" in capsys.readouterr().err
    assert (tf.work_dir / "emulator-boot-id").read_text().strip() == "boot-b"


def test_no_running_emulators_is_a_clear_error(isolated, monkeypatch):
    tf, _ = isolated
    monkeypatch.setattr(emulators, "boot_id", lambda port=None: None)
    with pytest.raises(tf_local.TerraformError, match="make localstack-up"):
        tf.follow_emulators()
