"""The ranking knobs a ``bench/relevance.py`` run changes: ``--set`` (before anything is indexed)
and ``--variant`` (query-time knobs changed on the same import, then put back), and which
queries a variant moved."""
from __future__ import annotations

import copy
import importlib
import json
from contextlib import contextmanager


def apply_setting(setting: str) -> None:
    """``module.NAME=value`` or ``module.DICT.key=value`` of a ``community.search`` module, set
    before anything is indexed or asked (a variant measured without editing the code)."""
    target, _, value = setting.partition("=")
    module_name, *names = target.split(".")
    module = importlib.import_module(f"community.search.{module_name}")
    parsed = json.loads(value) if value[:1] in "-0123456789[{tfn\"" else value
    if len(names) == 1 and hasattr(module, names[0]):
        setattr(module, names[0], parsed)
    elif len(names) == 2 and isinstance(getattr(module, names[0], None), dict):
        getattr(module, names[0])[names[1]] = parsed
    else:
        raise SystemExit(f"--set {setting}: no such knob")


def parse_variant(spec: str) -> tuple[str, list[str]]:
    """``NAME=MODULE.NAME=VALUE;...`` -> ``(NAME, [settings])`` (each setting as ``--set`` takes it)."""
    name, _, settings = spec.partition("=")
    settings = [s for s in settings.split(";") if s]
    if not name or not settings or any("." not in s.partition("=")[0] or "=" not in s for s in settings):
        raise SystemExit(f"--variant {spec}: expected NAME=MODULE.NAME=VALUE[;MODULE.NAME=VALUE...]")
    for setting in settings:
        _knob(setting)
    return name, settings


def _knob(setting: str) -> tuple[object, str, bool]:
    """``(module or dict, name, whether it is a module attribute)`` of an existing knob; a
    variant changes knobs, it never adds one (a typo would otherwise be measured as a variant)."""
    module_name, *names = setting.partition("=")[0].split(".")
    module = importlib.import_module(f"community.search.{module_name}")
    if len(names) == 1 and hasattr(module, names[0]):
        return module, names[0], True
    if len(names) == 2 and isinstance(getattr(module, names[0], None), dict) and names[1] in getattr(module, names[0]):
        return getattr(module, names[0]), names[1], False
    raise SystemExit(f"--variant {setting}: no such knob")


@contextmanager
def applied(settings: list[str], app):
    """The knobs of ``settings`` changed while the block runs, then put back (a deep copy of
    each old value: the field boosts are a dict); the Whoosh suggestion cache is emptied both
    times, so no answer of one variant is served to another."""
    saved = []
    for setting in settings:
        holder, key, attribute = _knob(setting)
        saved.append((holder, key, copy.deepcopy(getattr(holder, key) if attribute else holder[key]), attribute))
    for setting in settings:
        apply_setting(setting)
    cache = getattr(app.extensions["search"], "_suggest_cache", {})
    cache.clear()
    try:
        yield
    finally:
        for holder, key, value, attribute in reversed(saved):
            if attribute:
                setattr(holder, key, value)
            else:
                holder[key] = value
        cache.clear()


def moved_queries(queries: list[dict], before: list, after: list) -> list[dict]:
    """The queries whose first relevant rank differs between two runs (``None``: not in the 10)."""
    def better(a, b):  # rank a better than rank b
        return a is not None and (b is None or a < b)

    return [{"query": q["query"], "part": q.get("part"), "before": b, "after": a, "won": better(a, b)}
            for q, b, a in zip(queries, before, after) if a != b]
