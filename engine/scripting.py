"""The restricted evaluator for scripts and expressions that come from uploaded models.

Deploying a model must not be a way to run code on the server. Every script, condition and expression
SpiffWorkflow evaluates goes through `RestrictedEnvironment`, which compiles with RestrictedPython
(no names or attributes starting with "_", guarded item/iteration/write access) and runs with a small
allow-list of builtins: no import, open, eval, getattr or module objects.
"""

from __future__ import annotations

import ast
import builtins
import datetime as _dt
import decimal
import functools
import math
import operator
from collections.abc import Callable
from typing import Any, ClassVar

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.task import Task

from taktflow.engine.definitions.juel import RUNTIME as JUEL_RUNTIME
from taktflow.engine.errors import ScriptError
from taktflow.engine.handlers import BpmnError

# Builtins a model may call. Everything else (open, __import__, eval, exec, compile, getattr, globals,
# vars, input, breakpoint, type, ...) is simply not there.
_ALLOWED_EXTRA = {
    name: getattr(builtins, name)
    for name in (
        "all", "any", "dict", "enumerate", "filter", "list", "map", "max", "min", "reversed", "set",
        "sum", "frozenset", "sorted", "zip", "range",
    )
}
_FORBIDDEN_SAFE = {"setattr", "delattr", "__build_class__", "_getattr_"}
BUILTINS: dict[str, Any] = {k: v for k, v in safe_builtins.items() if k not in _FORBIDDEN_SAFE}
BUILTINS.update(_ALLOWED_EXTRA)

# Names a model may reference that exist nowhere but here; refused at deploy when called as functions.
FORBIDDEN_CALLS = frozenset({
    "open", "exec", "eval", "compile", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "input", "breakpoint", "help", "exit", "quit", "memoryview", "type", "object", "super",
})

_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "|=": operator.ior,
    "&=": operator.iand, "^=": operator.ixor, "<<=": operator.ilshift, ">>=": operator.irshift,
}


# --- bounds: what one operation may build (a model must not exhaust the server's memory or CPU) ---------
MAX_INT_BITS = 1 << 16  # 65,536 bits: about 19,700 decimal digits
MAX_SEQUENCE = 10_000_000  # items of a list or characters of a string one operation may build
MAX_ITERATIONS = 1_000_000  # loop and comprehension steps of one expression in the server process


def _too_big(what: str) -> ScriptError:
    return ScriptError(f"{what} would be too large for model data")


def _pow(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1 \
            and exponent * base.bit_length() > MAX_INT_BITS:
        raise _too_big(f"{base} ** {exponent}")
    return base ** exponent


def _mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise _too_big("the product")
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | bytes | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
            raise _too_big(f"repeating a {type(seq).__name__} of {len(seq)} {times} times")
    return left * right


def _lshift(value: Any, bits: Any) -> Any:
    if isinstance(value, int) and isinstance(bits, int) and value and value.bit_length() + bits > MAX_INT_BITS:
        raise _too_big(f"{value} << {bits}")
    return value << bits


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_SEQUENCE:
        raise _too_big(f"range{args}")
    return numbers


_BOUNDED = {"**=": _pow, "*=": _mul, "<<=": _lshift}
BUILTINS["range"] = _range


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    return _BOUNDED[op](x, y) if op in _BOUNDED else _INPLACE[op](x, y)


class BoundedPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, with `**`, `*` and `<<` routed through the bounded operations: the
    compiler would otherwise run `10 ** 10 ** 8` or `'a' * 10 ** 10` on the server's CPU and memory."""

    _CALLS: ClassVar[dict[type, str]] = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_"}

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        name = self._CALLS.get(type(node.op))
        if name is None:
            return node
        call = ast.Call(func=ast.copy_location(ast.Name(name, ast.Load()), node), args=[node.left, node.right],
                        keywords=[])
        return ast.copy_location(call, node)


def _counting_getiter(budget: int) -> Callable[[Any], Any]:
    """`_getiter_` for one evaluation: every loop and comprehension step counts against `budget`."""
    steps = [0]

    def getiter(iterable: Any) -> Any:
        for item in default_guarded_getiter(iterable):
            steps[0] += 1
            if steps[0] > budget:
                raise ScriptError(f"the expression took more than {budget} loop steps")
            yield item

    return getiter


SAFE_GLOBALS: dict[str, Any] = {
    "__builtins__": BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_pow_": _pow,
    "_mul_": _mul,
    "_lshift_": _lshift,
    # Values, not modules: a module object would hand out its own imports (random._os).
    "datetime": _dt.datetime,
    "date": _dt.date,
    "timedelta": _dt.timedelta,
    "timezone": _dt.timezone,
    "Decimal": decimal.Decimal,
    "floor": math.floor,
    "ceil": math.ceil,
    # `raise BpmnError("CODE")` in a script throws a BPMN error at its task (an error boundary event catches it).
    "BpmnError": BpmnError,
    **JUEL_RUNTIME,  # what translated Camunda expressions call
}


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Any:
    result = compile_restricted_eval(source.strip(), "<expression>", policy=BoundedPolicy)
    if result.errors:
        raise ScriptError(f"expression {source.strip()!r} refused: {'; '.join(result.errors)}")
    return result.code


@functools.lru_cache(maxsize=1024)
def compile_script(source: str) -> Any:
    result = compile_restricted_exec(source, "<script>", policy=BoundedPolicy)
    if result.errors:
        raise ScriptError(f"script refused: {'; '.join(result.errors)}")
    return result.code


def check_source(source: str, *, is_script: bool) -> list[str]:
    """Problems a deploy should refuse: syntax, forbidden constructs, calls to forbidden builtins."""
    try:
        (compile_script if is_script else compile_expression)(source)
    except ScriptError as exc:
        return [str(exc)]
    except SyntaxError as exc:  # RestrictedPython reports most, but not all, as errors
        return [f"syntax error: {exc}"]
    import ast

    problems = []
    try:
        tree = ast.parse(source.strip(), mode="exec" if is_script else "eval")
    except SyntaxError as exc:
        return [f"syntax error: {exc}"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            problems.append(f"calls {node.func.id}(), which models may not use")
        if isinstance(node, ast.Import | ast.ImportFrom):
            problems.append("imports a module, which models may not do")
        if isinstance(node, ast.ClassDef):  # no __build_class__ at run time: refuse it at deploy instead
            problems.append(f"defines class {node.name}, which models may not do")
    return problems


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, compiled and run under RestrictedPython."""

    def __init__(self, extra_globals: dict[str, Any] | None = None) -> None:
        super().__init__(dict(SAFE_GLOBALS, **(extra_globals or {})))
        # Functions handed in by the embedding code (the conformance harness's call log) live in this
        # process: scripts that call them run here. Models from users run in the sandbox.
        self.sandboxed = not extra_globals

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        code = compile_expression(expression)
        scope = dict(self.globals)
        scope["_getiter_"] = _counting_getiter(MAX_ITERATIONS)
        scope.update(external_context or {})
        scope.update(context)
        return eval(code, scope)  # noqa: S307 - restricted bytecode, guarded globals

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a script on the task data: in a worker process with CPU, memory and time limits (sandbox.py)."""
        if self.sandboxed:
            from taktflow.engine.sandbox import SANDBOX

            compile_script(script)  # refused before a worker is bothered
            SANDBOX.execute(script, context, dict(external_context or {}))
            return True
        return self.execute_here(script, context, external_context)

    def execute_here(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        code = compile_script(script)
        self.check_for_overwrite(context, external_context or {})
        context.update(self.globals)
        context.update(external_context or {})
        try:
            exec(code, context)  # noqa: S102 - restricted bytecode, guarded globals
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        _check_storable(context)
        return True

    def _remove_globals_and_functions_from_context(
        self, context: dict[str, Any], external_context: Any = None
    ) -> None:
        for key in list(context):
            if key in self.globals or callable(context[key]) or (external_context and key in external_context):
                context.pop(key)


# What task data may hold: the serializer stores these (a set or tuple as a list). A generator, map, range or
# class instance left in a variable would fail only when the instance is saved, as a server error.
_STORABLE = (str, int, float, bool, type(None), _dt.date, _dt.time, _dt.timedelta, decimal.Decimal)


def _unstorable(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, _STORABLE):
        return None
    if depth < 50 and isinstance(value, list | tuple | set | frozenset):
        return next((p for v in value if (p := _unstorable(v, depth + 1))), None)
    if depth < 50 and isinstance(value, dict):
        return next((p for v in value.values() if (p := _unstorable(v, depth + 1))), None)
    return type(value).__name__


def _check_storable(context: dict[str, Any]) -> None:
    """Refuse, naming the variable, what a script left that process data cannot store (the first one)."""
    for name, value in list(context.items()):
        kind = _unstorable(value)
        if kind is not None:
            del context[name]  # the task's data is saved with its incident: it must stay storable
            raise ScriptError(f"variable {name!r} holds a {kind}, which process data cannot store: "
                              "use a list, dict, number, text or date")


ServiceDispatch = Callable[[Task], bool | None]


class TaktflowScriptEngine(PythonScriptEngine):
    """The script engine attached to every workflow the engine loads (Spiff does not serialize it)."""

    def __init__(
        self, service_dispatch: ServiceDispatch | None = None, extra_globals: dict[str, Any] | None = None
    ) -> None:
        super().__init__(environment=RestrictedEnvironment(extra_globals))
        self.service_dispatch = service_dispatch

    def run_service_task(self, task: Task) -> bool | None:
        """True: done, the task completes. None: it waits (external task, retry job, BPMN error)."""
        if self.service_dispatch is None:
            raise RuntimeError("service task outside an engine command")
        return self.service_dispatch(task)
