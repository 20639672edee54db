"""Reading JSON request bodies with clear 400s."""
from __future__ import annotations

from flask import request

from ..services.errors import ValidationError
from ..services.inputs import in_int_range


def json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("Send a JSON object with Content-Type: application/json.")
    return data


def field(data: dict, name: str, kind=str, *, required: bool = True, nullable: bool = False):
    """``data[name]`` checked against ``kind``; a 400 naming the field otherwise."""
    if name not in data:
        if required:
            raise ValidationError(f"“{name}” is required.", field=name)
        return None
    value = data[name]
    if value is None:
        if nullable or not required:
            return None
        raise ValidationError(f"“{name}” may not be null.", field=name)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ValidationError(f"“{name}” has the wrong type.", field=name)
    if not isinstance(value, kinds):
        names = " or ".join(k.__name__.replace("str", "string").replace("int", "integer") for k in kinds)
        raise ValidationError(f"“{name}” must be a {names}.", field=name)
    if isinstance(value, int) and not isinstance(value, bool) and not in_int_range(value):
        raise ValidationError(f"“{name}” is out of range.", field=name)
    return value


def int_arg(name: str, default: int, *, low: int = 0, high: int = 100) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"“{name}” must be an integer.", field=name) from None
    if not low <= value <= high:
        raise ValidationError(f"“{name}” must be between {low} and {high}.", field=name)
    return value
