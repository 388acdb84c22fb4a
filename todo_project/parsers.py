"""The JSON parser of every DRF view: its errors say what is wrong with the body, never how Python read it."""

import codecs
import json
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _not_a_number(name: str) -> None:
    raise ParseError(f"Malformed JSON: {name} is not a JSON number.")


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, with messages of its own instead of Python's codec and recursion errors."""

    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        # DRF's own check of the Content-Type's charset (a 400 for an unknown one); its stubs predate it.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_constant=_not_a_number)
        except UnicodeDecodeError:
            raise ParseError(f"The body is not valid {encoding} text.") from None
        except json.JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        except RecursionError:
            raise ParseError("Malformed JSON: nested too deeply.") from None
