"""The public API documents itself: Args, Returns and Example sections, and examples that hold.

The sections are read from the source (no import, so no TensorFlow); the
examples of :mod:`ecgnet.metrics` and of the package are run with doctest
(they need neither TensorFlow nor data). The examples of the other modules
build or load Keras models; lines that need a data folder or a trained run
are marked ``# doctest: +SKIP``.
"""

import ast
import doctest
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecgnet"

#: The modules whose public functions and classes must have every section.
DOCUMENTED = ("__init__", "layers", "models", "explain", "pretrained_models", "ensembles", "metrics", "evaluation",
              "training")

#: Methods Keras or Python calls, documented by their base classes.
HOOKS = {"build", "call", "compute_output_shape", "get_config", "on_epoch_end", "on_epoch_begin"}


def _own_nodes(function):
    """The nodes of ``function``'s body, nested functions, lambdas and classes left out."""
    stack = list(function.body)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)))


def _returns_value(function):
    return any(
        isinstance(node, (ast.Yield, ast.YieldFrom))
        or (isinstance(node, ast.Return) and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value is None))
        for node in _own_nodes(function)
    )


def _takes_arguments(function, method=False):
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    if method and names and names[0] in ("self", "cls"):
        names = names[1:]
    return bool(names or arguments.vararg or arguments.kwarg)


def _has(docstring, section):
    return re.search(rf"^\s*{section}s?:", docstring, re.M) is not None


def _missing(function, method=False):
    docstring = ast.get_docstring(function) or ""
    missing = []
    if _takes_arguments(function, method) and not _has(docstring, "Args"):
        missing.append("Args")
    if _returns_value(function) and not (_has(docstring, "Returns") or _has(docstring, "Yields")):
        missing.append("Returns")
    if not _has(docstring, "Example"):
        missing.append("Example")
    return missing


def undocumented(path):
    """``[(name, missing sections)]`` of the public functions, classes and methods of a module's source file."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            not node.name.startswith("_") or node.name == "__getattr__"
        ):
            found.append((node.name, _missing(node)))
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            docstring = ast.get_docstring(node) or ""
            init = next((item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"), None)
            missing = [] if init is None or not _takes_arguments(init, True) or _has(docstring, "Args") else ["Args"]
            found.append((node.name, missing + ([] if _has(docstring, "Example") else ["Example"])))
            for item in node.body:
                if (isinstance(item, ast.FunctionDef) and not item.name.startswith("_") and item.name not in HOOKS
                        and not any(ast.unparse(d) == "property" for d in item.decorator_list)):
                    found.append((f"{node.name}.{item.name}", _missing(item, method=True)))
    return [(name, missing) for name, missing in found if missing]


@pytest.mark.parametrize("module", DOCUMENTED)
def test_public_api_has_args_returns_and_example(module):
    assert undocumented(PACKAGE / f"{module}.py") == []


def test_undocumented_finds_a_missing_section(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f(x):\n    """Twice x."""\n    return 2 * x\n\n\n'
                      'def g():\n    """Nothing.\n\n    Example:\n        >>> g()\n    """\n', encoding="utf-8")
    assert undocumented(sample) == [("f", ["Args", "Returns", "Example"])]


@pytest.mark.parametrize("module_name", ["ecgnet", "ecgnet.metrics"])
def test_examples_without_tensorflow_hold(module_name):
    module = __import__(module_name, fromlist=["_"])
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
