"""Decode Stripe's form encoding (``a[b][0][c]=v``, ``expand[]=x``) into nested dicts and lists."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import StripeError

_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART_RE = re.compile(r"\[([^\[\]]*)\]")


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn ``(key, value)`` pairs into nested params; raise StripeError(400) on malformed keys."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY_RE.match(key)
        if not match:
            raise StripeError(400, f"Invalid parameter name: {key}", param=key)
        parts = [match.group(1), *_PART_RE.findall(match.group(2))]
        node: dict[str, Any] = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":
                part = str(len(node))
            if last:
                node[part] = value
                break
            child = node.get(part)
            if not isinstance(child, dict):
                if child is not None and child != "":
                    raise StripeError(400, f"Invalid parameter structure for {key}", param=key)
                child = {}
                node[part] = child
            node = child
    return _listify(root)


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {k: _listify(v) for k, v in value.items()}
        if converted and all(k.isdigit() for k in converted):
            return [converted[k] for k in sorted(converted, key=int)]
        return converted
    return value


def to_bool(value: Any, param: str) -> bool:
    """Parse Stripe's ``true``/``false`` strings; raise StripeError(400) otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise StripeError(
        400, f"Invalid boolean: {value!r}", param=param, code="parameter_invalid_boolean"
    )


def to_int(value: Any, param: str, minimum: int | None = None) -> int:
    """Parse an integer parameter; raise StripeError(400) when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise StripeError(
            400, f"Invalid integer: {value!r}", param=param, code="parameter_invalid_integer"
        )
    try:
        number = int(value)
    except ValueError:
        raise StripeError(
            400, f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        ) from None
    if minimum is not None and number < minimum:
        raise StripeError(400, f"{param} must be at least {minimum}.", param=param)
    return number


def to_str(value: Any, param: str) -> str:
    """Require a plain string parameter."""
    if not isinstance(value, str):
        raise StripeError(400, f"Invalid string: {param} must be a string.", param=param)
    return value


def to_list(value: Any, param: str) -> list[Any]:
    """Require an array parameter (an empty string clears it, giving ``[]``)."""
    if value == "":
        return []
    if not isinstance(value, list):
        raise StripeError(400, f"Invalid array: {param} must be an array.", param=param)
    return value


def to_dict(value: Any, param: str) -> dict[str, Any]:
    """Require a hash parameter (an empty string clears it, giving ``{}``)."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, f"Invalid object: {param} must be a hash.", param=param)
    return value
