"""``samstream models``: the models samstream knows and what is exported in the cache."""

from __future__ import annotations

import json

from .common import FMT


def add_parser(sub) -> None:
    p = sub.add_parser("models", help="list models and cached exports", formatter_class=FMT,
                       description="List the models samstream knows, their licence, checkpoint, and which "
                                   "exports (official, random-init or custom = your own checkpoint exported with "
                                   "`samstream export MODEL --checkpoint PATH --custom NAME`; fp32/fp16/int8) are in "
                                   "the cache.",
                       epilog="examples:\n"
                              "  samstream models\n"
                              "  samstream models --json     # with checkpoint URLs and SHA-256\n"
                              "the cache is ~/.cache/samstream ($XDG_CACHE_HOME, or $SAMSTREAM_CACHE).\n")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    from ..models.cache import cache_root, find_exported, list_exported
    from ..models.registry import MODELS

    rows = [{"name": "classic", "title": "embedded classical backend (GrabCut, OpenCV)", "license": "Apache-2.0",
             "exports": "built in, no weights", "url": ""}]
    for spec in MODELS.values():
        ex = []
        for tag in ("official", "random-init"):
            found = find_exported(spec.name, tag)
            if found is not None:
                ex.append(f"{tag}: {'/'.join(found.precisions())}")
        rows.append({"name": spec.name, "title": spec.title, "license": spec.license,
                     "exports": "; ".join(ex) or "not exported", "url": spec.url, "sha256": spec.sha256})
    for found in list_exported():
        if found.weights != "custom":
            continue
        m = found.meta
        rows.append({"name": found.model, "title": m.get("title", found.model), "license": "your checkpoint",
                     "exports": f"custom: {'/'.join(found.precisions())}", "url": m.get("checkpoint_path", ""),
                     "sha256": m.get("checkpoint_sha256", ""), "weights": "custom",
                     "base_model": m.get("base_model", "")})
    if args.json:
        print(json.dumps({"cache": str(cache_root()), "models": rows}, indent=2))
        return 0
    print(f"cache: {cache_root()}\n")
    w = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"  {r['name']:<{w}}  {r['title']}  [{r['license']}]")
        print(f"  {'':<{w}}  {r['exports']}")
    print("\nexport one with `samstream export NAME` (needs `pip install samstream[export]`).")
    return 0
