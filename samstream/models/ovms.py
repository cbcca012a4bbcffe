"""The OpenVINO Model Server model repository for an exported encoder.

``samstream export mobilesam --ovms DIR`` writes the layout OVMS loads as it is::

    DIR/config.json                    # model_config_list: name, base_path, plugin_config
    DIR/<name>/1/model.xml|model.bin   # version 1 = the exported encoder IR (fp16; int8 too: <name>-int8)

and OVMS serves it over the same KServe v2 API as ``samstream serve`` (see docs/scaling.md)::

    docker run --rm -p 9000:9000 -p 8000:8000 -v DIR:/models:ro openvino/model_server:latest \\
        --config_path /models/config.json --port 9000 --rest_port 8000

``base_path`` is the path inside the container (``/models/<name>``, ``mount_point``); the encoder's
input is kept as exported (dynamic dims stay dynamic), so clients send
:meth:`~samstream.engine.openvino_sam.OVSamModel.encoder_input`'s tensor unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional, Sequence

from .cache import ExportedModel

__all__ = ["write_ovms_repository", "OVMS_DOCKER"]

OVMS_DOCKER = ("docker run --rm -p 9000:9000 -p 8000:8000 -v {dir}:/models:ro openvino/model_server:latest "
               "--config_path /models/config.json --port 9000 --rest_port 8000")


def write_ovms_repository(exported: ExportedModel, out_dir: Path, precisions: Sequence[str] = ("fp16",),
                          name: Optional[str] = None, mount_point: str = "/models",
                          performance_hint: str = "THROUGHPUT") -> Path:
    """Write (or update) the OVMS repository in ``out_dir`` for ``exported``'s encoder(s).

    Args:
        precisions: IR precisions to publish; the first is served as ``name``, the others as
            ``name-<precision>`` (e.g. ``mobilesam-int8``).
        name: served model name (default: ``exported.model``); clients use ``grpc://HOST:9000/<name>``.
        mount_point: where ``out_dir`` is mounted in the OVMS container.
        performance_hint: OVMS ``plugin_config`` hint (``THROUGHPUT`` serves many cameras at once).

    Returns ``out_dir / "config.json"``. Other models already in ``config.json`` are kept.
    """
    out_dir = Path(out_dir)
    base = name or exported.model
    entries = []
    for i, prec in enumerate(precisions):
        xml = exported.encoder_xml(prec)
        if not xml.exists():
            have = ", ".join(exported.precisions()) or "none"
            raise FileNotFoundError(f"{exported.model} has no {prec} encoder in {exported.folder} (have: {have}): "
                                    f"export it first (`samstream export {exported.model}"
                                    + (" --int8" if prec == "int8" else "") + "`).")
        served = base if i == 0 else f"{base}-{prec}"
        version = out_dir / served / "1"
        version.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(xml, version / "model.xml")
        shutil.copyfile(xml.with_suffix(".bin"), version / "model.bin")
        entries.append({"config": {"name": served, "base_path": f"{mount_point.rstrip('/')}/{served}",
                                   "target_device": "CPU",
                                   "plugin_config": {"PERFORMANCE_HINT": performance_hint}}})
    cfg_path = out_dir / "config.json"
    cfg = {"model_config_list": []}
    if cfg_path.exists():
        try:
            cfg = json.loads(cfg_path.read_text())
        except json.JSONDecodeError:
            raise ValueError(f"{cfg_path} is not valid JSON: fix or delete it, then re-run the export.") from None
    names = {e["config"]["name"] for e in entries}
    kept = [e for e in cfg.get("model_config_list", []) if e.get("config", {}).get("name") not in names]
    cfg["model_config_list"] = kept + entries
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    return cfg_path
