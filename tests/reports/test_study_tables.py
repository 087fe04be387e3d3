"""Tables of numbers in a study's README that restate its runs are generated (between markers,
by a script beside it); regenerating them from the committed runs must leave the README as it is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPORTS = Path(__file__).resolve().parents[2] / "reports"
GENERATORS = sorted(REPORTS.glob("*/table.py"))


def _generated_block(script: Path) -> tuple[str, str]:
    """(the README's block between the script's markers, the script's table now)."""
    spec = importlib.util.spec_from_file_location(f"table_{script.parent.name}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "BEGIN"):
        pytest.skip(f"{script} writes no README block")
    text = (script.parent / "README.md").read_text()
    block = text[text.index(module.BEGIN) + len(module.BEGIN) : text.index(module.END)]
    return block.strip(), module.table().strip()


@pytest.mark.parametrize("script", GENERATORS, ids=lambda p: p.parent.name)
def test_a_readme_table_is_what_its_runs_give(script):
    committed, regenerated = _generated_block(script)
    assert committed == regenerated, (
        f"{script.parent / 'README.md'} is stale: run python {script.relative_to(REPORTS.parent)}"
    )
