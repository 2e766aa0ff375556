"""The layout holds: imports point down the layers of docs/architecture.md, and nowhere loop.

Two real import-graph tools read the code as it is: import-linter checks the contracts in
pyproject.toml (`scoring` never imports `bot` or Slack, the engine and the decisions never
touch the store, each package imports only the layers below it), and grimp's graph, which
sees imports inside functions and `TYPE_CHECKING` blocks too, is searched for any cycle.
The contracts are also run against a copy of the code with a forbidden import planted, so a
contract that silently stopped checking would fail here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "scoring")
SOURCE_LIMIT = 300


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over every module: each component with more than one module, or a
    module importing itself, is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter's own command over the code under `root`, with the project's contracts."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command;"
            " sys.exit(lint_imports_command())",
            "--config",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
        ],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def planted(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of bot/ and scoring/ with one import line added to `module`."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    path = tmp_path / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")
    return tmp_path


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("scoring.engine.score", "import slack_sdk", "scoring never imports the bot or Slack"),
        ("scoring.decisions.digest", "import bot.messages.render", "scoring never imports"),
        ("scoring.engine.aggregates", "import scoring.store.db", "the engine is pure"),
        ("bot.messages.render", "import bot.jobs.weekly", "bot: the CLI drives"),
    ],
    ids=["scoring-imports-slack", "scoring-imports-bot", "engine-imports-store", "layer-upward"],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    result = lint_imports(planted(tmp_path, module, line))
    assert result.returncode == 1, result.stdout
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert contract in broken


def test_no_module_imports_itself_back():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert strongly_connected(graph) == []


def test_a_function_level_import_that_closes_a_loop_is_a_cycle(tmp_path):
    root = planted(
        tmp_path, "scoring.errors", "def _late():\n    from scoring.periods import period_of"
    )
    script = (
        "import grimp, json; from tests.test_architecture import strongly_connected;"
        " print(json.dumps(strongly_connected(grimp.build_graph('bot', 'scoring',"
        " cache_dir=None))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,  # `-c` puts the working directory first on sys.path
        env={"PYTHONPATH": f"{root}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cycles = json.loads(result.stdout)
    assert ["scoring.errors", "scoring.periods"] in cycles, cycles


def test_no_source_module_is_over_300_lines():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > SOURCE_LIMIT
    }
    assert too_long == {}


def test_each_package_says_what_lives_there_and_what_it_may_import():
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            if "migrations" in init.parts or init.parent == ROOT / package:
                continue
            text = init.read_text()
            assert text.startswith('"""'), f"{init.relative_to(ROOT)} has no docstring"
            assert "import" in text.split('"""')[1], f"{init.relative_to(ROOT)}: may import what?"
