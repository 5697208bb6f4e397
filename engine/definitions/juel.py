"""Camunda 7 expressions (JUEL, `${...}` / `#{...}`) translated to the restricted Python the engine evaluates.

Camunda models write conditions and attributes as `${amount > 1000 && !approved}`, `${empty comment}`,
`${order.total ge 500}`. They are translated once, at deploy, into Python that runs under the same
restricted evaluator as every other expression, so a JUEL expression can do nothing a Python one cannot.
Covered: variables and properties (`order.total`, `items[0]`), literals, `! not && and || or`, comparisons
in symbols and words (`eq ne lt gt le ge`), arithmetic (`div mod`), `empty`, `a ? b : c`, and text with
embedded expressions (`Order ${orderId}`). Method calls (`execution.getVariable("x")` aside) are refused:
they would call Java objects the engine does not have.
"""

from __future__ import annotations

import functools
import keyword
import re

_TEMPLATE = re.compile(r"[$#]\{(.*?)\}", re.DOTALL)
_TOKEN = re.compile(r"""\s*(?:
    (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>&&|\|\||==|!=|<=|>=|[-+*/%<>!?:().\[\],])
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
)""", re.VERBOSE)
_WORD_OPS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}
_LITERALS = {"true": "True", "false": "False", "null": "None"}


# Set on an element whose text normalize() translated from JUEL (a bare `${name}` becomes a bare name).
TRANSLATED = "{http://taktflow.org/schema/1.0/bpmn}juel"


class JuelError(ValueError):
    """The expression is not JUEL this engine can translate (reported at deploy time)."""


def is_expression(text: str | None) -> bool:
    return bool(text) and _TEMPLATE.search(text or "") is not None


@functools.lru_cache(maxsize=2048)
def to_python(text: str) -> str:
    """`${a && b}` → `(a and b)`; `Order ${id}` → `'Order ' + juel_str(id)`; plain text → a string literal."""
    text = text.strip()
    whole = _TEMPLATE.fullmatch(text)
    if whole:
        return _Translator(whole.group(1)).translate()
    parts: list[str] = []
    position = 0
    for match in _TEMPLATE.finditer(text):
        if match.start() > position:
            parts.append(repr(text[position:match.start()]))
        parts.append(f"juel_str({_Translator(match.group(1)).translate()})")
        position = match.end()
    if position < len(text):
        parts.append(repr(text[position:]))
    return " + ".join(parts) if parts else repr(text)


class _Translator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        source = source.strip()
        while pos < len(source):
            match = _TOKEN.match(source, pos)
            if match is None or match.end() == pos:
                raise JuelError(f"cannot read {source[pos:pos + 12]!r} in ${{{source}}}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(source) and source[pos].isspace():
                pos += 1
        self.tokens.append(("end", ""))
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def at(self, *values: str) -> bool:
        kind, text = self.peek()
        return kind in ("op", "name") and text in values

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise JuelError(f"expected {value!r} but found {token[1] or 'the end'!r} in ${{{self.source}}}")
        self.pos += 1
        return token

    def translate(self) -> str:
        result = self.ternary()
        if self.peek()[0] != "end":
            raise JuelError(f"unexpected {self.peek()[1]!r} in ${{{self.source}}}")
        return result

    def ternary(self) -> str:
        condition = self.disjunction()
        if self.at("?"):
            self.take()
            then = self.ternary()
            self.take(":")
            otherwise = self.ternary()
            return f"({then} if {condition} else {otherwise})"
        return condition

    def disjunction(self) -> str:
        left = self.conjunction()
        while self.at("||", "or"):
            self.take()
            left = f"({left} or {self.conjunction()})"
        return left

    def conjunction(self) -> str:
        left = self.equality()
        while self.at("&&", "and"):
            self.take()
            left = f"({left} and {self.equality()})"
        return left

    def equality(self) -> str:
        left = self.relational()
        while self.at("==", "!=", "eq", "ne"):
            op = _WORD_OPS.get(self.take()[1], self.tokens[self.pos - 1][1])
            left = f"({left} {op} {self.relational()})"
        return left

    def relational(self) -> str:
        left = self.additive()
        while self.at("<", ">", "<=", ">=", "lt", "gt", "le", "ge"):
            op = _WORD_OPS.get(self.take()[1], self.tokens[self.pos - 1][1])
            left = f"({left} {op} {self.additive()})"
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while self.at("+", "-"):
            op = self.take()[1]
            left = f"({left} {op} {self.multiplicative()})"
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        while self.at("*", "/", "%", "div", "mod"):
            op = _WORD_OPS.get(self.take()[1], self.tokens[self.pos - 1][1])
            left = f"({left} {op} {self.unary()})"
        return left

    def unary(self) -> str:
        if self.at("!", "not"):
            self.take()
            return f"(not {self.unary()})"
        if self.at("empty"):
            self.take()
            return f"juel_empty({self.unary()})"
        if self.at("-"):
            self.take()
            return f"(-{self.unary()})"
        return self.value()

    def value(self) -> str:
        result = self.primary()
        while self.at(".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise JuelError(f"expected a property name after '.' in ${{{self.source}}}")
                if self.at("("):
                    raise JuelError(f"method calls ({name}(...)) cannot run here: ${{{self.source}}}")
                if name.startswith("_"):
                    raise JuelError(f"names starting with '_' are not allowed: ${{{self.source}}}")
                result = f"juel_get({result}, {name!r})"
            else:
                index = self.ternary()
                self.take("]")
                result = f"juel_get({result}, {index})"
        return result

    def date_time(self) -> str:
        """Camunda's `dateTime().plusWeeks(1).toDate()` (Joda time, counted from now) as the ISO 8601 duration
        it means ('P1W'): due and follow-up dates count a duration from when the task is created."""
        self.take("(")
        self.take(")")
        parts: dict[str, int] = {}
        while self.at("."):
            self.take(".")
            method = self.take()[1]
            self.take("(")
            if method == "toDate":
                self.take(")")
                break
            unit = _DATE_TIME_UNITS.get(method)
            kind, amount = self.take()
            if unit is None or kind != "number" or not amount.isdigit():
                raise JuelError(f"dateTime().{method}({amount}) is not supported (only plusYears ... plusSeconds "
                                f"with a whole number): ${{{self.source}}}")
            self.take(")")
            parts[unit] = parts.get(unit, 0) + int(amount)
        date = "".join(f"{parts[u]}{u}" for u in "YMWD" if u in parts)
        time = "".join(f"{parts[u.lower()]}{u}" for u in "HMS" if u.lower() in parts)
        return repr("P" + (date or ("" if time else "T0S")) + (f"T{time}" if time else ""))

    def primary(self) -> str:
        kind, text = self.take()
        if kind == "number":
            return text
        if kind == "string":
            body = text[1:-1]
            return repr(bytes(body, "utf-8").decode("unicode_escape"))
        if kind == "op" and text == "(":
            inner = self.ternary()
            self.take(")")
            return f"({inner})"
        if kind == "name":
            if text in _LITERALS:
                return _LITERALS[text]
            if text == "execution" and self.at("."):
                # execution.getVariable("name") is the one method call Camunda models use everywhere.
                self.take(".")
                method = self.take()[1]
                if method != "getVariable":
                    raise JuelError(f"execution.{method}(...) is not supported: ${{{self.source}}}")
                self.take("(")
                kind, literal = self.take()
                self.take(")")
                # The argument becomes a bare name in the Python: it must be a string literal naming a
                # variable, or a crafted literal would paste code into the expression.
                name = literal[1:-1] if kind == "string" else ""
                if not (name.isidentifier() and name.isascii()) or keyword.iskeyword(name) or name.startswith("_"):
                    raise JuelError(f"execution.getVariable needs a quoted variable name (letters, digits, '_'), "
                                    f"not {literal!r}: ${{{self.source}}}")
                return name
            if text == "dateTime" and self.at("("):
                return self.date_time()
            if self.at("("):
                raise JuelError(f"function calls ({text}(...)) cannot run here: ${{{self.source}}}")
            if text.startswith("_"):
                raise JuelError(f"names starting with '_' are not allowed: ${{{self.source}}}")
            return text
        raise JuelError(f"unexpected {text or 'end of expression'!r} in ${{{self.source}}}")


_DATE_TIME_UNITS = {"plusYears": "Y", "plusMonths": "M", "plusWeeks": "W", "plusDays": "D", "plusHours": "h",
                    "plusMinutes": "m", "plusSeconds": "s"}


# --- runtime helpers, visible to model expressions as globals (engine/scripting.py) ----------------------


def juel_get(value: object, key: object) -> object:
    """JUEL property and index access: missing map keys are null, as in Camunda."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list | tuple | str) and isinstance(key, int):
        return value[key] if -len(value) <= key < len(value) else None
    raise TypeError(f"cannot read {key!r} of a {type(value).__name__}")


def juel_empty(value: object) -> bool:
    if value is None:
        return True
    try:
        return len(value) == 0  # type: ignore[arg-type]
    except TypeError:
        return False


def juel_str(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


RUNTIME = {"juel_get": juel_get, "juel_empty": juel_empty, "juel_str": juel_str}
