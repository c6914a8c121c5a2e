"""HttpRule path templates (google/api/http.proto): parsing, matching, and their OpenAPI form.

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

A variable without "=" matches one segment (`{id}` = `{id=*}`). Values are percent-decoded:
wholly for a one-segment variable, and except for "%2F" for a multi-segment one (as the spec
says), so that `{name=shelves/*/books/*}` keeps the slashes that separate its segments while a
slash encoded inside one segment stays recognisable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERAL = re.compile(r"[^/{}:*=]+")
# "%2F" is decoded to this byte before matching (requests containing a NUL are refused), so
# one-segment variables can turn it into "/" and multi-segment ones back into "%2F".
_SLASH = "\x00"
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Variable:
    field_path: tuple[str, ...]  # e.g. ("procedure_id",) or ("book", "name")
    pattern: str  # the segments it matches, as written: "*" unless "{x=...}"

    @property
    def name(self) -> str:
        return ".".join(self.field_path)

    @property
    def single_segment(self) -> bool:
        return self.pattern == "*"


@dataclass(frozen=True)
class PathTemplate:
    template: str
    variables: tuple[Variable, ...]
    verb: str | None
    regex: re.Pattern[str]

    @property
    def openapi_path(self) -> str:
        """The OpenAPI path: each variable as `{field.path}` (its pattern goes to the parameter)."""
        return _render(self.template)

    def match(self, decoded_path: str) -> dict[str, str] | None:
        """{field path: value} when the path (see decode_path) matches, else None."""
        m = self.regex.fullmatch(decoded_path)
        if m is None:
            return None
        values = {}
        for i, variable in enumerate(self.variables):
            value = m.group(f"v{i}")
            values[variable.name] = value.replace(_SLASH, "/" if variable.single_segment else "%2F")
        return values


def decode_path(raw_path: str) -> str | None:
    """The request's raw (percent-encoded) path, decoded for matching; None if it holds a NUL."""
    if "%00" in raw_path or "\x00" in raw_path:
        return None
    return _SLASH.join(unquote(part) for part in _ENCODED_SLASH.split(raw_path))


def parse(template: str) -> PathTemplate:
    parser = _Parser(template)
    regex, variables, verb = parser.template()
    return PathTemplate(template, tuple(variables), verb, re.compile(regex))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.variables: list[Variable] = []

    def fail(self, why: str) -> TemplateError:
        return TemplateError(f"path template {self.text!r}: {why} at offset {self.pos}")

    def peek(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)

    def expect(self, s: str) -> None:
        if not self.peek(s):
            raise self.fail(f"expected {s!r}")
        self.pos += len(s)

    def template(self) -> tuple[str, list[Variable], str | None]:
        self.expect("/")
        regex = "/" + self.segments(in_variable=False)
        verb = None
        if self.peek(":"):
            self.pos += 1
            m = _LITERAL.match(self.text, self.pos)
            if not m:
                raise self.fail("expected a verb after ':'")
            verb = m.group()
            self.pos = m.end()
            regex += re.escape(":" + verb)
        if self.pos != len(self.text):
            raise self.fail("unexpected character")
        return regex, self.variables, verb

    def segments(self, in_variable: bool) -> str:
        parts = [self.segment(in_variable)]
        while self.peek("/"):
            self.pos += 1
            parts.append(self.segment(in_variable))
        return "/".join(parts)

    def segment(self, in_variable: bool) -> str:
        if self.peek("**"):
            self.pos += 2
            return r"[^/]+(?:/[^/]+)*"
        if self.peek("*"):
            self.pos += 1
            return r"[^/]+"
        if self.peek("{"):
            if in_variable:
                raise self.fail("nested variable")
            return self.variable()
        m = _LITERAL.match(self.text, self.pos)
        if not m:
            raise self.fail("expected a segment")
        self.pos = m.end()
        return re.escape(m.group())

    def variable(self) -> str:
        self.expect("{")
        path = []
        while True:
            m = _IDENT.match(self.text, self.pos)
            if not m:
                raise self.fail("expected a field name")
            path.append(m.group())
            self.pos = m.end()
            if not self.peek("."):
                break
            self.pos += 1
        start = self.pos
        if self.peek("="):
            self.pos += 1
            start = self.pos
            inner = self.segments(in_variable=True)
            pattern = self.text[start:self.pos]
        else:
            inner, pattern = r"[^/]+", "*"
        self.expect("}")
        index = len(self.variables)
        variable = Variable(tuple(path), pattern)
        if any(v.name == variable.name for v in self.variables):
            raise self.fail(f"{variable.name} bound twice")
        self.variables.append(variable)
        return f"(?P<v{index}>{inner})"


def _render(template: str) -> str:
    return re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", template)
