"""What no request may carry, checked once for every route, before any view runs.

Each rule lives here, in one place, instead of in the views:

- **ids in paths** use the ``int`` converter bounded to 32-bit signed integers (the database's
  ``INTEGER``): ``/threads/2147483648`` matches no route, so it is a 404 like any missing thread.
- **integers in query strings and forms** read with ``request.args.get(name, type=int)`` (or
  ``request.form`` / ``request.values``) outside that range are a 400 naming the parameter;
  JSON integers are bounded by ``api.body.field``.
- **NUL characters** in the path, a parameter name or value, an uploaded file's name or a JSON
  string are a 400 (PostgreSQL cannot store them, and no person types one).
- **JSON bodies** that nest deeper than ``MAX_JSON_DEPTH``, hold a lone UTF-16 surrogate
  (``"\\ud800"``, which no UTF-8 text can hold), or use ``NaN``/``Infinity`` are a 400.
  Forms cannot carry surrogates: Werkzeug decodes invalid UTF-8 as U+FFFD.

The API answers these in its JSON error shape and pages with the error page (``views.errors``).
"""
from __future__ import annotations

import builtins
import json

from flask import Flask, Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from .services.inputs import INT_MAX, in_int_range

MAX_JSON_DEPTH = 32


def digits_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers 0 … ``limit`` (leading zeros allowed).

    For 2**31 − 1: ``\\d{1,9}`` or ten digits no greater, position by position
    (``[0-1]\\d{9}``, ``2[0-0]\\d{8}``, ``21[0-3]\\d{7}``, ...).
    """
    text = str(limit)
    parts = [rf"0*\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        rest = len(text) - i - 1
        if i == len(text) - 1:
            parts.append(f"0*{text[:i]}[0-{digit}]")
        elif digit != "0":
            parts.append(f"0*{text[:i]}[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(parts) + ")"


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that matches only ids the database can hold (0 … 2**31 − 1).

    The bound is in the regular expression too, not only in ``to_python``: Werkzeug checks a
    rule's methods before converting its values, so ``PATCH /api/v1/articles/2147483648``
    (whose path also fits the article's GET rule) was a 405, "method not allowed", rather
    than the 404 of a missing article.
    """

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 (werkzeug's names)
        bound = INT_MAX if max is None else builtins.min(max, INT_MAX)
        super().__init__(map, fixed_digits=fixed_digits, min=min, signed=signed, max=bound)
        if not signed and not fixed_digits:
            self.regex = digits_up_to(bound)


class _BoundedGet:
    """``get(name, type=int)`` refuses integers outside the database's range with a 400.

    Werkzeug's own ``get`` returns the default when ``type`` raises ValueError ("abc"); an
    integer that parses but cannot be stored is no typo, and ignoring it would change what a
    filter means, so it is refused.
    """

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's signature)
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not in_int_range(value):
            raise BadRequest(f"“{key}” is out of range.")
        return value


class BoundedMultiDict(_BoundedGet, ImmutableMultiDict):
    pass


class BoundedCombinedMultiDict(_BoundedGet, CombinedMultiDict):
    pass


class GuardedRequest(Request):
    parameter_storage_class = BoundedMultiDict

    @cached_property
    def values(self) -> CombinedMultiDict:
        sources = [self.args]
        if self.method != "GET":
            sources.append(self.form)
        return BoundedCombinedMultiDict(sources)


class JSONTooDeep(ValueError):
    pass


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def check_json_value(value) -> None:
    """Raise ValueError if ``value`` nests too deeply or holds a NUL or a lone surrogate.

    Iterative, so that its own depth is no stack depth; linear in the size of ``value``.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise JSONTooDeep(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("text may not contain a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text may not contain a lone UTF-16 surrogate") from None


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading only what the rules above allow (a ValueError is Flask's 400)."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise JSONTooDeep(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
        check_json_value(value)
        return value


def _has_nul(multidict) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in multidict.items(multi=True))


def refuse_hostile_input() -> None:
    """before_request: the NUL and JSON rules; raises a 400 ``BadRequest``."""
    if "\x00" in request.path or _has_nul(request.args):
        raise BadRequest("The address contains a NUL character.")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.is_json:
        data = request.get_data(cache=True)
        if data:
            try:
                current_app.json.loads(data)
            except ValueError as exc:  # also UnicodeDecodeError and JSONDecodeError
                raise BadRequest(f"The JSON body could not be read: {exc}.") from None
        return
    if _has_nul(request.form) or any("\x00" in (f.filename or "") for f in request.files.values()):
        raise BadRequest("The form contains a NUL character.")


def init_app(app: Flask) -> None:
    """Call before any blueprint is registered: the converter applies to rules added later."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.request_class = GuardedRequest
    app.json = GuardedJSONProvider(app)
    app.before_request(refuse_hostile_input)
