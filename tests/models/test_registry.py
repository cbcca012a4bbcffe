"""Model registry, checkpoint verification and cache layout."""

from __future__ import annotations

import hashlib
import urllib.error

import pytest

from samstream.models import cache
from samstream.models.registry import MODELS, get_spec, model_names


@pytest.mark.parametrize("name", list(MODELS))
def test_registry_entries_are_complete(name):
    spec = MODELS[name]
    assert spec.url.startswith("https://") and spec.url.endswith((".pt", ".pth"))
    assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
    assert spec.license and spec.encoder_side in (512, 1024) and spec.prompt_side == 1024
    assert spec.low_res_side == spec.prompt_side // 4


def test_default_and_names():
    assert model_names()[0] == "classic" and "mobilesam" in model_names()
    assert get_spec("MobileSAM").name == "mobilesam" and get_spec("vit_b").name == "sam_vit_b"


@pytest.mark.parametrize("name, side", [("mobilesam-512", 512), ("sam_vit_b-768", 768), ("mobilesam-1024", 1024)])
def test_input_size_variants(name, side):
    spec = get_spec(name)
    assert spec.encoder_side == side and spec.prompt_side == 1024
    assert spec.name == (name if side != 1024 else "mobilesam")


@pytest.mark.parametrize("name, words", [("mobilesam-500", "multiple of 32"), ("mobilesam-64", "between 256"),
                                         ("nosuch", "choose one of"), ("nosuch-512", "choose one of")])
def test_bad_names(name, words):
    with pytest.raises(ValueError, match=words):
        get_spec(name)


def test_wrong_checkpoint_names_url_and_option(tmp_path):
    bad = tmp_path / "mobile_sam.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="--checkpoint") as e:
        cache.verify_checkpoint(get_spec("mobilesam"), bad)
    assert get_spec("mobilesam").url in str(e.value)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cache.verify_checkpoint(get_spec("mobilesam"), tmp_path / "missing.pt")


def test_right_checkpoint_passes(tmp_path, monkeypatch):
    data = b"pretend weights"
    spec = get_spec("mobilesam")
    from dataclasses import replace

    fake = replace(spec, sha256=hashlib.sha256(data).hexdigest())
    p = tmp_path / "w.pt"
    p.write_bytes(data)
    assert cache.verify_checkpoint(fake, p) == p


def test_offline_download_is_one_clear_error(monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("name resolution failed")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(ConnectionError) as e:
        cache.fetch_checkpoint(get_spec("sam_vit_b"))
    msg = str(e.value)
    assert "sam_vit_b_01ec64.pth" in msg and "--checkpoint" in msg and "offline" in msg
    assert not list((cache.cache_root() / "checkpoints").glob("*.part"))


def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SAMSTREAM_CACHE", str(tmp_path / "c"))
    assert cache.cache_root() == tmp_path / "c"
    monkeypatch.delenv("SAMSTREAM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache.cache_root() == tmp_path / "x" / "samstream"
