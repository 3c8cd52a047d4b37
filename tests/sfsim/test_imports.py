"""sfsim stands alone: the command line (`cli/`) uses sfsim, so sfsim must not import `cli`
(the two packages imported each other while configure_logging lived in cli/logs.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import sfsim

SFSIM = Path(sfsim.__file__).parent


def imports_of_cli(source: str) -> list[str]:
    """The modules of the `cli` package that a module's import statements name."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return [name for name in names if name == "cli" or name.startswith("cli.")]


def test_given_a_module_importing_cli_then_the_check_finds_each_form() -> None:
    source = "import cli.main\nfrom cli import run\nfrom cli.logs import x\nimport clients\n"
    assert imports_of_cli(source) == ["cli.main", "cli", "cli.logs"]


def test_given_every_sfsim_module_then_none_imports_from_cli() -> None:
    modules = sorted(SFSIM.rglob("*.py"))
    assert len(modules) > 10  # the walk found the package, not an empty directory
    offenders = {
        str(path.relative_to(SFSIM.parent)): found
        for path in modules
        if (found := imports_of_cli(path.read_text()))
    }
    assert offenders == {}
