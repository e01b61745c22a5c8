"""The package's layout: each stage folder imports only from the stages before it, in the README's order."""

import ast
from pathlib import Path

import fer_helpers

PACKAGE = Path(fer_helpers.__file__).parent
STAGES = ["dataset", "modelling", "analysis", "cleaning", "runstore", "book"]  # the README's Layout, in order
EXCEPTIONS = {("runstore/runs.py", "book")}  # `make runs` writes the README's store table (book.runtimes)
ON_TOP = {"predict.py"}  # the photo classifier uses every stage


def stage_imports(path: Path) -> set[str]:
    """The stage folders the module at `path` imports from (relative imports resolved)."""
    here = list(path.relative_to(PACKAGE).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - node.level + 1] + (node.module.split(".") if node.module else [])
            heads = [base[0]] if base else [alias.name for alias in node.names]
            found |= {head for head in heads if head in STAGES}
    return found


def test_stage_imports_resolve_relative_imports():
    assert stage_imports(PACKAGE / "cleaning" / "outliers.py") == {"dataset", "modelling", "analysis"}
    assert stage_imports(PACKAGE / "book" / "runbook.py") >= {"dataset", "runstore", "book"}
    assert stage_imports(PACKAGE / "config.py") == set()


def test_every_module_lives_in_a_stage_or_beside_them():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(STAGES)


def test_a_stage_imports_only_from_the_stages_before_it():
    backward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        own = relative.parts[0] if len(relative.parts) > 1 else None
        allowed = set(STAGES[: STAGES.index(own) + 1]) if own else set()  # the top-level modules import no stage
        allowed |= {stage for module, stage in EXCEPTIONS if module == relative.as_posix()}
        if relative.as_posix() in ON_TOP:
            allowed = set(STAGES)
        backward += [f"{relative.as_posix()} imports {stage}" for stage in stage_imports(path) - allowed]
    assert not backward, backward


def test_no_module_is_over_350_lines():
    long = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 350
    }
    assert not long, f"split these modules by concern: {long}"
