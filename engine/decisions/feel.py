"""A FEEL subset for DMN 1.3 decision tables: simple expressions and unary tests.

Parsed into closures once at deploy time (a syntax error refuses the deployment) and evaluated against a
context of variables without `eval`: uploaded decision tables cannot reach Python.

Covered: numbers, strings, booleans, null; names and dotted paths (`order.total`); `+ - * / **`;
comparisons `= != < <= > >=`; `and`, `or`, `not(...)`; `x between a and b`; `x in (...)`; `if c then a else b`;
lists `[a, b]`; a few built-in functions. Unary tests: `-`, `< 5`, `[250..1000]`, `]0..1[`, `"a","b"`,
`not("a","b")`, `null`, and any expression using `?` for the input value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

Context = dict[str, Any]
Evaluator = Callable[[Context], Any]
UnaryTest = Callable[[Any, Context], bool]


MAX_EXPONENT = 1000


class FeelSyntaxError(ValueError):
    """The text is not FEEL this engine understands (reported at deploy time)."""


class FeelEvaluationError(ValueError):
    """The expression could not be evaluated for these inputs (reported as an incident, never a non-match)."""


# Multi-word names are FEEL's own; they are matched before single words.
_FUNCTION_WORDS = ("string length", "upper case", "lower case", "starts with", "ends with", "date and time")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?|\.\d+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<op>\.\.|<=|>=|!=|\*\*|[-+*/<>=(),\[\]{}?.:])
    | (?P<name>""" + "|".join(w.replace(" ", r"\s+") for w in _FUNCTION_WORDS) + r"""|[A-Za-z_][A-Za-z_0-9]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "between", "in", "if", "then", "else", "true", "false", "null", "not"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FeelSyntaxError(f"unexpected {text[pos:pos + 12]!r} in {text!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "name":
            value = re.sub(r"\s+", " ", value)
        tokens.append((kind, value))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    tokens.append(("end", ""))
    return tokens


def _number(text: str) -> int | Decimal:
    return int(text) if text.isdigit() else Decimal(text)


def _as_comparable(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def _compare(op: str, left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        # FEEL: equality with null is defined, ordering with null is null (no match).
        if op == "=":
            return left is None and right is None
        if op == "!=":
            return not (left is None and right is None)
        return None
    left, right = _as_comparable(left), _as_comparable(right)
    numeric = (int, Decimal)
    same_kind = (
        (isinstance(left, numeric) and isinstance(right, numeric) and not isinstance(left, bool)
         and not isinstance(right, bool))
        or type(left) is type(right)
        or (isinstance(left, date) and isinstance(right, date))
    )
    if not same_kind:
        raise FeelEvaluationError(f"cannot compare {_describe(left)} with {_describe(right)} using {op}")
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
    except TypeError as exc:
        raise FeelEvaluationError(f"cannot order {_describe(left)} and {_describe(right)}") from exc


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, bool) or isinstance(right, bool) or not (
        isinstance(left, int | float | Decimal) and isinstance(right, int | float | Decimal)
    ):
        raise FeelEvaluationError(f"cannot compute {_describe(left)} {op} {_describe(right)}")
    left, right = _as_comparable(left), _as_comparable(right)
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "**":
        if abs(right) > MAX_EXPONENT:  # 10 ** 10 ** 9 would compute for minutes before any size check
            raise FeelEvaluationError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        return left**right
    if right == 0:
        return None  # FEEL: division by zero is null
    result = Decimal(left) / Decimal(right)
    return int(result) if result == result.to_integral_value() else result


def _string_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if any(a is None for a in args):
            return None
        if not all(isinstance(a, str) for a in args):
            raise FeelEvaluationError(f"{fn.__name__} expects strings, got {', '.join(_describe(a) for a in args)}")
        return fn(*args)

    return call


def _list_fn(fn: Callable[[list[Any]], Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        return fn(items)

    return call


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise FeelEvaluationError(f"not a date: {value!r}") from exc


def _date_and_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise FeelEvaluationError(f"not a date and time: {value!r}") from exc


def _to_number(value: Any) -> Any:
    if value is None:
        return None
    try:
        return _number(str(value).strip())
    except ArithmeticError as exc:
        raise FeelEvaluationError(f"not a number: {value!r}") from exc


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "string length": _string_fn(len),
    "upper case": _string_fn(str.upper),
    "lower case": _string_fn(str.lower),
    "contains": _string_fn(lambda s, part: part in s),
    "starts with": _string_fn(str.startswith),
    "ends with": _string_fn(str.endswith),
    "sum": _list_fn(lambda items: sum(_as_comparable(i) for i in items)),
    "count": _list_fn(len),
    "min": _list_fn(lambda items: min(items) if items else None),
    "max": _list_fn(lambda items: max(items) if items else None),
    "abs": lambda n: None if n is None else abs(n),
    "floor": lambda n: None if n is None else math.floor(n),
    "ceiling": lambda n: None if n is None else math.ceil(n),
    "date": _date,
    "date and time": _date_and_time,
    "number": _to_number,
    "string": lambda v: None if v is None else str(v),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    # -- token helpers ------------------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> tuple[str, str]:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, value: str) -> bool:
        kind, text = self.peek()
        return kind in ("op", "name") and text == value

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and not (token[0] in ("op", "name") and token[1] == value):
            found = token[1] or "end of text"
            raise FeelSyntaxError(f"expected {value!r} but found {found!r} in {self.text!r}")
        self.pos += 1
        return token

    def done(self) -> None:
        if self.peek()[0] != "end":
            raise FeelSyntaxError(f"unexpected {self.peek()[1]!r} in {self.text!r}")

    # -- expressions ----------------------------------------------------------------------------------------
    def expression(self) -> Evaluator:
        if self.at("if"):
            self.take("if")
            condition = self.expression()
            self.take("then")
            then = self.expression()
            self.take("else")
            otherwise = self.expression()
            return lambda ctx: then(ctx) if condition(ctx) is True else otherwise(ctx)
        return self.disjunction()

    def disjunction(self) -> Evaluator:
        left = self.conjunction()
        while self.at("or"):
            self.take()
            right, prev = self.conjunction(), left
            left = lambda ctx, a=prev, b=right: _or(a(ctx), b(ctx))  # noqa: E731
        return left

    def conjunction(self) -> Evaluator:
        left = self.comparison()
        while self.at("and"):
            self.take()
            right, prev = self.comparison(), left
            left = lambda ctx, a=prev, b=right: _and(a(ctx), b(ctx))  # noqa: E731
        return left

    def comparison(self) -> Evaluator:
        left = self.additive()
        kind, op = self.peek()
        if kind == "op" and op in ("=", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.additive()
            return lambda ctx: _compare(op, left(ctx), right(ctx))
        if self.at("between"):
            self.take()
            low = self.additive()
            self.take("and")
            high = self.additive()
            return lambda ctx: _and(_compare(">=", left(ctx), low(ctx)), _compare("<=", left(ctx), high(ctx)))
        if self.at("in"):
            self.take()
            if self.at("("):
                self.take("(")
                tests = self.positive_unary_tests()
                self.take(")")
            else:
                tests = [self.positive_unary_test()]
            return lambda ctx: any(t(left(ctx), ctx) for t in tests)
        return left

    def additive(self) -> Evaluator:
        left = self.multiplicative()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            right, prev = self.multiplicative(), left
            left = lambda ctx, a=prev, b=right, o=op: _arith(o, a(ctx), b(ctx))  # noqa: E731
        return left

    def multiplicative(self) -> Evaluator:
        left = self.power()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            right, prev = self.power(), left
            left = lambda ctx, a=prev, b=right, o=op: _arith(o, a(ctx), b(ctx))  # noqa: E731
        return left

    def power(self) -> Evaluator:
        base = self.unary()
        if self.peek() == ("op", "**"):
            self.take()
            exponent = self.unary()
            return lambda ctx: _arith("**", base(ctx), exponent(ctx))
        return base

    def unary(self) -> Evaluator:
        if self.peek() == ("op", "-"):
            self.take()
            operand = self.unary()
            return lambda ctx: _arith("-", 0, operand(ctx))
        return self.postfix()

    def postfix(self) -> Evaluator:
        value = self.primary()
        while self.peek() == ("op", "."):
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise FeelSyntaxError(f"expected a name after '.' in {self.text!r}")
            value = lambda ctx, v=value, n=name: _member(v(ctx), n)  # noqa: E731
        return value

    def primary(self) -> Evaluator:
        kind, text = self.take()
        if kind == "number":
            number = _number(text)
            return lambda ctx: number
        if kind == "string":
            literal = bytes(text[1:-1], "utf-8").decode("unicode_escape")
            return lambda ctx: literal
        if kind == "op" and text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "op" and text == "[":
            items: list[Evaluator] = []
            while not self.at("]"):
                items.append(self.expression())
                if not self.at("]"):
                    self.take(",")
            self.take("]")
            return lambda ctx: [item(ctx) for item in items]
        if kind == "op" and text == "?":
            return lambda ctx: ctx["?"]
        if kind == "name":
            if text in ("true", "false"):
                flag = text == "true"
                return lambda ctx: flag
            if text == "null":
                return lambda ctx: None
            if self.at("("):
                return self.call(text)
            if text in _KEYWORDS:
                raise FeelSyntaxError(f"unexpected {text!r} in {self.text!r}")
            return lambda ctx: _variable(ctx, text)
        raise FeelSyntaxError(f"unexpected {text or 'end of text'!r} in {self.text!r}")

    def call(self, name: str) -> Evaluator:
        self.take("(")
        args: list[Evaluator] = []
        while not self.at(")"):
            args.append(self.expression())
            if not self.at(")"):
                self.take(",")
        self.take(")")
        if name == "not":
            if len(args) != 1:
                raise FeelSyntaxError(f"not() takes one argument in {self.text!r}")
            return lambda ctx: _not(args[0](ctx))
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise FeelSyntaxError(f"unknown function {name!r} in {self.text!r}")

        def invoke(ctx: Context) -> Any:
            try:
                return fn(*(a(ctx) for a in args))
            except FeelEvaluationError:
                raise
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise FeelEvaluationError(f"{name}(): {exc}") from exc

        return invoke

    # -- unary tests ----------------------------------------------------------------------------------------
    def unary_tests(self) -> UnaryTest:
        if self.peek() == ("op", "-") and self.peek(1)[0] == "end":
            self.take()
            return lambda value, ctx: True
        if self.at("not") and self.peek(1) == ("op", "("):
            self.take()
            self.take("(")
            tests = self.positive_unary_tests()
            self.take(")")
            self.done()
            return lambda value, ctx: not _any_match(tests, value, ctx)
        tests = self.positive_unary_tests()
        self.done()
        return lambda value, ctx: _any_match(tests, value, ctx)

    def positive_unary_tests(self) -> list[UnaryTest]:
        tests = [self.positive_unary_test()]
        while self.at(","):
            self.take()
            tests.append(self.positive_unary_test())
        return tests

    def positive_unary_test(self) -> UnaryTest:
        kind, op = self.peek()
        if kind == "op" and op in ("<", "<=", ">", ">="):
            self.take()
            endpoint = self.additive()
            return lambda value, ctx: _compare(op, value, endpoint(ctx)) is True
        if kind == "op" and op in ("[", "(", "]") and self._is_interval():
            return self.interval()
        expression = self.expression()

        def test(value: Any, ctx: Context) -> bool:
            result = expression({**ctx, "?": value})
            if isinstance(result, bool) and not isinstance(value, bool):
                return result  # an expression over `?`
            if isinstance(result, list):
                return value in result
            return _compare("=", value, result) is True

        return test

    def _is_interval(self) -> bool:
        """An opening bracket (any of `[ ( ]`) whose own level holds a `..` before it closes."""
        depth = 1
        for kind, text in self.tokens[self.pos + 1:]:
            if kind == "end":
                return False
            if kind == "op" and text in ("(", "["):
                depth += 1
            elif kind == "op" and text in (")", "]"):
                depth -= 1
                if depth == 0:
                    return False
            elif kind == "op" and text == ".." and depth == 1:
                return True
        return False

    def interval(self) -> UnaryTest:
        opening = self.take()[1]
        low = self.additive()
        self.take("..")
        high = self.additive()
        kind, closing = self.take()
        if closing not in ("]", ")", "["):
            raise FeelSyntaxError(f"an interval must end with ], ) or [ in {self.text!r}")
        low_op = ">=" if opening == "[" else ">"
        high_op = "<=" if closing == "]" else "<"
        return lambda value, ctx: (
            _compare(low_op, value, low(ctx)) is True and _compare(high_op, value, high(ctx)) is True
        )


def _any_match(tests: list[UnaryTest], value: Any, ctx: Context) -> bool:
    return any(t(value, ctx) for t in tests)


def _variable(ctx: Context, name: str) -> Any:
    if name not in ctx:
        raise FeelEvaluationError(f"no variable named {name!r}")
    return ctx[name]


def _member(value: Any, name: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    raise FeelEvaluationError(f"{_describe(value)} has no member {name!r}")


def _not(value: Any) -> bool | None:
    return None if value is None else not _truth(value)


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FeelEvaluationError(f"expected true or false, got {_describe(value)}")
    return value


def _and(left: Any, right: Any) -> bool | None:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return _truth(left) and _truth(right)


def _or(left: Any, right: Any) -> bool | None:
    if left is True or right is True:
        return True
    if left is None or right is None:
        return None
    return _truth(left) or _truth(right)


def compile_expression(text: str) -> Evaluator:
    parser = _Parser(text)
    evaluator = parser.expression()
    parser.done()
    return evaluator


def compile_unary_tests(text: str) -> UnaryTest:
    if not text.strip():
        return lambda value, ctx: True
    return _Parser(text).unary_tests()
