"""JSON <-> protobuf messages, as leniently as Perspective's own front end parsed them.

Accepted: any Content-Type, lowerCamel and snake_case names, enum names or numbers, and
the relaxed JSON of the official cURL sample (unquoted keys, single-quoted strings,
trailing commas). Output is proto3 JSON: lowerCamel keys in field-number order, empty
fields omitted, float32 values in their shortest form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

from perspective_local.errors import InvalidRequest

M = TypeVar("M", bound=Message)

# One token of relaxed JSON: a double- or single-quoted string, a bare identifier, or any
# other single character. Strings are matched whole so that nothing inside them is touched.
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"' r"|'(?:[^'\\]|\\.)*'" r"|[A-Za-z_$][\w$]*" r"|\s+" r"|.",
    re.DOTALL,
)
_LITERALS = {"true", "false", "null"}


def relaxed_to_strict(text: str) -> str:
    """Rewrite relaxed JSON (unquoted keys, 'single quotes', trailing commas) as JSON."""
    tokens = _TOKEN.findall(text)
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token.startswith("'"):
            inner = token[1:-1].replace('\\"', '"').replace("\\'", "'")
            out.append(json.dumps(inner, ensure_ascii=False))
        elif token[0].isalpha() or token[0] in "_$":
            following = next((t for t in tokens[i + 1 :] if not t.isspace()), "")
            quote = following == ":" and token not in _LITERALS
            out.append(f'"{token}"' if quote else token)
        elif token == ",":
            following = next((t for t in tokens[i + 1 :] if not t.isspace()), "")
            if following not in ("}", "]"):
                out.append(token)
        else:
            out.append(token)
    return "".join(out)


def loads(body: bytes | str) -> Any:
    """Parse a request body as JSON, falling back to relaxed JSON; ``b""`` is ``{}``."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise InvalidRequest("Invalid JSON payload received. Body is not UTF-8.") from None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as strict_error:
        try:
            return json.loads(relaxed_to_strict(text))
        except json.JSONDecodeError:
            raise InvalidRequest(
                f"Invalid JSON payload received. {strict_error.msg} at line "
                f"{strict_error.lineno} column {strict_error.colno}."
            ) from None


def parse(body: Any, message: M) -> M:
    """Fill ``message`` from a JSON body (bytes or str) or already-parsed JSON; return it."""
    data = loads(body) if isinstance(body, (bytes, str)) else body
    if not isinstance(data, Mapping):
        raise InvalidRequest("Invalid JSON payload received. Expected an object at the top level.")
    try:
        json_format.ParseDict(dict(data), message)
    except json_format.ParseError as exc:
        # The parser's message names the field; its list of valid fields is noise here.
        reason = str(exc).split("\n", 1)[0].replace("Failed to parse ", "")
        raise InvalidRequest(f"Invalid JSON payload received. {reason}") from None
    return message


def to_dict(message: Message) -> dict[str, Any]:
    """The proto3 JSON form of ``message`` (lowerCamel keys, empties omitted)."""
    result: dict[str, Any] = json_format.MessageToDict(message)
    return result


def select_fields(data: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Google's ``fields=`` partial response, for top-level keys (``a,b/c,d(e)`` keeps a, b, d)."""
    if not fields:
        return data
    keep: set[str] = set()
    depth = 0
    name = ""
    for ch in fields + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            keep.add(name.split("/", 1)[0].strip())
            name = ""
        elif depth == 0:
            name += ch
    return {key: value for key, value in data.items() if key in keep}


def dumps(data: Any, *, pretty: bool = True) -> bytes:
    """Serialise a response; Google pretty-prints unless ``prettyPrint=false``."""
    if pretty:
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
