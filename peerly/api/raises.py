"""Which error codes a view can answer, read from the code that raises them.

A service or selector declares its errors where it raises them (`raise CannotDeleteSelf()`); the
OpenAPI schema of each operation lists what its handler can raise, following the project's functions
it calls (services, selectors, their helpers) through their source. Nothing is kept by hand beside
the code, so the schema cannot drift from it. Errors raised by DRF machinery (parsing, validation,
authentication, permissions) are declared by peerly.api.schema from the operation's shape.
"""

import ast
import functools
import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peerly.api.exceptions import PeerlyError

# Only the project's own code is followed (never Django, DRF, the standard library or the virtualenv):
# a function defined in a file of this checkout, outside any site-packages.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a Name or a dotted Attribute names in the function's module, or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _is_error_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, PeerlyError)


def _is_project_function(obj: Any) -> bool:
    return inspect.isfunction(obj) and _is_project_file(obj.__code__.co_filename)


@functools.cache
def _is_project_file(filename: str) -> bool:
    path = Path(filename).resolve()
    return path.is_relative_to(PROJECT_ROOT) and "site-packages" not in path.parts


def errors_raised_by(function: Callable, method: str | None = None) -> frozenset[type[PeerlyError]]:
    """Every PeerlyError class the function raises itself or through the project functions it calls.

    With `method`, a view handler serving several methods counts only what that method runs: branches
    `if request.method == "GET":` of another method are left out.
    """
    # A view's bound method is new with every view instance: key the cache on the plain function.
    return _errors_raised_by(inspect.unwrap(getattr(function, "__func__", function)), method)


@functools.cache
def _errors_raised_by(function: Callable, method: str | None) -> frozenset[type[PeerlyError]]:
    return frozenset(_walk(function, frozenset(), method))


def _walk(function: Callable, seen: frozenset[Callable], method: str | None = None) -> set[type[PeerlyError]]:
    if function in seen:
        return set()
    seen = seen | {function}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return set()
    definition = tree.body[0]
    if method is not None and isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef):
        definition.body = _run_by(definition.body, method)
    namespace = {**function.__globals__, **_closure(function)}
    # `hidden = RecognitionHidden("...")` then `raise hidden`: the local names the class it was built from.
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call)
            and _is_error_class(built := _resolve(node.value.func, namespace))
        ):
            namespace[node.targets[0].id] = built
    caught = _caught_inside(tree, namespace)
    found: set[type[PeerlyError]] = set()
    for node in ast.walk(tree):
        if id(node) in caught:
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = _resolve(node.exc.func if isinstance(node.exc, ast.Call) else node.exc, namespace)
            if _is_error_class(raised):
                found.add(raised)
        elif isinstance(node, ast.Call):
            called = _resolve(node.func, namespace)
            # `@transaction.atomic` and other wrappers: the project's function is the wrapped one.
            called = inspect.unwrap(called) if callable(called) else called
            if _is_project_function(called):
                found |= _walk(called, seen)
    return found


def _caught_inside(tree: ast.AST, namespace: dict[str, Any]) -> set[int]:
    """The nodes inside `try:` bodies whose handlers catch every PeerlyError (turned into something else)."""
    caught: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_errors(handler, namespace) for handler in node.handlers):
            caught |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return caught


def _catches_errors(handler: ast.ExceptHandler, namespace: dict[str, Any]) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for node in types:
        if isinstance(node, ast.Name) and node.id in ("Exception", "BaseException"):
            return True
        caught = _resolve(node, namespace)
        if isinstance(caught, type) and issubclass(PeerlyError, caught):
            return True
    return False


def _method_tested(statement: ast.stmt) -> str | None:
    """ "GET" for `if request.method == "GET":`, else None."""
    if not isinstance(statement, ast.If) or not isinstance(statement.test, ast.Compare):
        return None
    test = statement.test
    if (
        isinstance(test.left, ast.Attribute)
        and test.left.attr == "method"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
    ):
        return str(test.comparators[0].value).upper()
    return None


def _run_by(statements: list[ast.stmt], method: str) -> list[ast.stmt]:
    """The statements a request of `method` can run, following `if request.method == ...` branches."""
    run: list[ast.stmt] = []
    for statement in statements:
        tested = _method_tested(statement)
        if tested is None:
            run.append(statement)
        elif tested == method.upper():
            run.extend(_run_by(statement.body, method))
            if statement.body and isinstance(statement.body[-1], ast.Return | ast.Raise):
                return run  # what follows the branch is for the other methods
        else:
            run.extend(_run_by(statement.orelse, method))
    return run


def _closure(function: Callable) -> dict[str, Any]:
    names = function.__code__.co_freevars
    cells = function.__closure__ or ()
    return {name: cell.cell_contents for name, cell in zip(names, cells, strict=False) if _has_contents(cell)}


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True
