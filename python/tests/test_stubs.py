"""The stubs (headroom/__init__.pyi) say what the module does: every public function and class
with the runtime's signature and docstring, every argument explained."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import headroom

STUB = Path(headroom.__file__).with_suffix(".pyi")


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def test_every_public_name_is_in_the_stub():
    names = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    assert set(headroom.__all__) <= names, set(headroom.__all__) - names


def test_stub_functions_match_the_runtime():
    for node in stub_tree().body:
        if not isinstance(node, ast.FunctionDef):
            continue
        runtime = getattr(headroom, node.name)
        sig = inspect.signature(runtime)
        a = node.args
        stub_params = [p.arg for p in a.posonlyargs + a.args] + [p.arg for p in a.kwonlyargs]
        assert stub_params == list(sig.parameters), node.name
        kwonly = [n for n, p in sig.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
        assert [p.arg for p in a.kwonlyargs] == kwonly, node.name
        defaults = [ast.literal_eval(d) if d is not None else inspect.Parameter.empty for d in a.kw_defaults]
        want = [sig.parameters[n].default for n in kwonly]
        assert defaults == want, node.name
        assert ast.get_docstring(node) == inspect.getdoc(runtime), f"{node.name}: docstrings differ"


def test_every_argument_is_explained():
    for name in headroom.__all__:
        obj = getattr(headroom, name)
        if not inspect.isfunction(obj):
            continue
        doc = inspect.getdoc(obj)
        for p in inspect.signature(obj).parameters:
            assert f"{p}:" in doc, f"{name}: argument {p} is not explained"


def test_experiment_error_is_a_value_error_with_a_docstring():
    assert issubclass(headroom.ExperimentError, ValueError)
    assert "command line" in headroom.ExperimentError.__doc__
