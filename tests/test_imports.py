"""The package's layers point one way, and each name has one home (no second import path for it)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecgnet"

#: data -> layers -> models -> training -> evaluation -> cli: a module may import
#: modules of its own rank or below, never above. Every module must be listed here.
RANKS = {
    "ecgnet": 0, "ecgnet.errors": 0, "ecgnet.files": 0,
    "ecgnet.data": 1, "ecgnet.recipe": 1, "ecgnet.quality": 1, "ecgnet.plausibility": 1,
    "ecgnet.metrics": 2, "ecgnet.runs": 2,
    "ecgnet.normalization": 3, "ecgnet.layers": 3, "ecgnet.augmentation": 3,
    "ecgnet.models": 4, "ecgnet.ensembles": 4, "ecgnet.pretrained_models": 4,
    "ecgnet.training": 5, "ecgnet.explain": 5, "ecgnet.prediction": 5, "ecgnet.adaptation": 5,
    "ecgnet.evaluation": 6,
    "ecgnet.notebook": 7, "ecgnet.cli": 7, "ecgnet.__main__": 7,
}


def _rank(module):
    """The rank of the longest listed prefix of ``module`` ("ecgnet.data.records" -> "ecgnet.data")."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        name = ".".join(parts[:end])
        if name in RANKS and (name != "ecgnet" or module == "ecgnet"):
            return RANKS[name]
    return None


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree):
    """Every ``ecgnet`` module a source file imports, at the top or inside a function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "ecgnet")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "ecgnet":
            for alias in node.names:  # `from ecgnet import data` imports ecgnet.data
                submodule = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / Path(*submodule.split("."))).with_suffix(".py").exists() or (
                    PACKAGE.parent / Path(*submodule.split("."))
                ).is_dir()
                yield submodule if is_module else node.module


def test_every_module_has_a_rank():
    unranked = [_module_name(p) for p in PACKAGE.rglob("*.py") if _rank(_module_name(p)) is None]
    assert unranked == [], f"place these modules in RANKS: {unranked}"


def test_no_module_imports_a_layer_above_it():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        for target in sorted(set(_imported(ast.parse(path.read_text(encoding="utf-8"))))):
            if _rank(target) is not None and _rank(target) > _rank(name):
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_the_rank_check_sees_an_upward_import():
    tree = ast.parse("def f():\n    from ecgnet.evaluation import write_report\nfrom ecgnet import training\n")
    assert sorted(_imported(tree)) == ["ecgnet.evaluation", "ecgnet.training"]
    assert _rank("ecgnet.evaluation") > _rank("ecgnet.training") > _rank("ecgnet.data.records")


def test_metrics_import_no_tensorflow():
    code = "import sys, ecgnet.metrics; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_runs_import_no_tensorflow():
    """Cards, run folders and folds are read before (and without) TensorFlow: the CLI checks them first."""
    code = "import sys, ecgnet.runs; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def _defined(module):
    """The public names a module's source defines at its top level (not those it imports)."""
    names = set()
    for node in ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return {name for name in names if not name.startswith("_")}


def test_every_name_of_ecgnet_data_is_defined_once():
    """Each public name of ``ecgnet.data`` (and each constant, such as ``BEAT_LENGTH``) has one home module."""
    import importlib
    import pkgutil

    from ecgnet import data

    modules = [importlib.import_module(f"ecgnet.data.{m.name}") for m in pkgutil.iter_modules(data.__path__)]
    modules.append(importlib.import_module("ecgnet.recipe"))  # the input registries, re-exported by ecgnet.data
    for name in data.__all__:
        homes = [module.__name__ for module in modules if name in _defined(module)]
        assert len(homes) == 1, f"{name} is defined in {homes}"
        assert getattr(data, name) is getattr(importlib.import_module(homes[0]), name)
    constants = {}
    for module in modules:
        for name in _defined(module):
            if name.isupper():
                constants.setdefault(name, []).append(module.__name__)
    assert {name: homes for name, homes in constants.items() if len(homes) > 1} == {}


@pytest.mark.parametrize("module, names", [
    ("ecgnet.evaluation", ["confusion_matrix", "evaluate_predictions", "macro_f1"]),  # ecgnet.metrics
    ("ecgnet.training", ["class_weights",  # ecgnet.data.classes
                         "training_card", "read_training_card", "write_training_card", "claim_run_folder",  # ecgnet.runs
                         "validation_plan", "parse_fold", "pool_runs", "run_validation_index", "CARD_FILE"]),
    ("ecgnet.augmentation", ["make_augmentation", "SAMPLING_RATE"]),  # EcgAugmentation, ecgnet.data.FS
])
def test_no_second_names(module, names):
    import importlib

    assert [name for name in names if hasattr(importlib.import_module(module), name)] == []
