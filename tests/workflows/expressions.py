"""A small evaluator for the GitHub Actions expressions our workflows use.

It knows contexts (dotted lookups), string/number/bool/null literals, the
operators ! == != && || and parentheses, and the status functions. Anything
else raises HarnessError, so a workflow cannot grow an expression the harness
would silently get wrong.
"""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<name>[A-Za-z_][\w.-]*\(?))"
)
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}")


class HarnessError(Exception):
    """The workflow holds something the harness cannot execute faithfully."""


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise HarnessError(f"cannot parse expression {expression!r} at {expression[position:]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, expression: str, context: dict[str, Any], status: str) -> None:
        self.tokens = _tokens(expression)
        self.context = context
        self.status = status
        self.index = 0

    def parse(self) -> Any:
        value = self._or()
        if self.index != len(self.tokens):
            raise HarnessError(f"unexpected {self.tokens[self.index][1]!r} in expression")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value or right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            value = value and right
        return value

    def _compare(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            right = self._unary()
            equal = _loose(value) == _loose(right)
            value = equal if op == "==" else not equal
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not self._unary()
        return self._atom()

    def _atom(self) -> Any:
        kind, text = self._take()
        if text == "(":
            value = self._or()
            if self._take()[1] != ")":
                raise HarnessError("unbalanced parentheses")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind == "name" and text.endswith("("):
            if self._take()[1] != ")":
                raise HarnessError(f"function {text}) with arguments is not supported")
            return self._function(text[:-1])
        if kind == "name":
            return self._lookup(text)
        raise HarnessError(f"unexpected {text!r} in expression")

    def _function(self, name: str) -> bool:
        if name == "always":
            return True
        if name == "success":
            return self.status == "success"
        if name == "failure":
            return self.status == "failure"
        raise HarnessError(f"function {name}() is not supported by the harness")

    def _lookup(self, path: str) -> Any:
        literals = {"true": True, "false": False, "null": None}
        if path in literals:
            return literals[path]
        head, *rest = path.split(".")
        if head not in self.context:
            raise HarnessError(f"unknown context {head!r} in expression")
        value: Any = self.context[head]
        for part in rest:
            value = value.get(part) if isinstance(value, dict) else None
        return value


def _loose(value: Any) -> Any:
    """GitHub compares case-insensitively and treats null like ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    return str(value).lower() if isinstance(value, str) else value


def evaluate(expression: str, context: dict[str, Any], status: str = "success") -> Any:
    """The value of one expression (without the ${{ }} wrapper)."""
    return _Parser(expression, context, status).parse()


def substitute(text: str, context: dict[str, Any]) -> str:
    """Replace every ${{ expression }} in `text` by its value, as GitHub renders it."""

    def render(match: re.Match[str]) -> str:
        value = evaluate(match.group(1), context)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return TEMPLATE.sub(render, text)


def condition(text: str | bool | None, context: dict[str, Any], status: str) -> bool:
    """Whether a step or job with `if: text` runs; without `if`, only after success."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    inner = TEMPLATE.fullmatch(text.strip())
    expression = inner.group(1) if inner else text
    uses_status = any(f in expression for f in ("always(", "success(", "failure("))
    result = bool(evaluate(expression, context, status))
    return result if uses_status else result and status == "success"
