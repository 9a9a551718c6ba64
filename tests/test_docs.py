"""docs/ODD.md describes the code that exists: its parameter table is the declarations', and every rule
function is named in it, each name it gives being a function of ``sim/rules.py``."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from sim import params, rules

ODD = (Path(__file__).resolve().parent.parent / "docs" / "ODD.md").read_text(encoding="utf-8")


def test_the_parameter_table_is_generated_from_the_declarations():
    table = ODD.split("<!-- params:start -->\n", 1)[1].split("\n<!-- params:end -->", 1)[0]
    assert table == params.markdown_table(), "run `make docs` after changing sim/params.py"


def rule_functions() -> set[str]:
    return {name for name, f in inspect.getmembers(rules, inspect.isfunction)
            if f.__module__ == rules.__name__ and not name.startswith("_")}


def test_every_rule_function_is_described_in_the_submodels():
    submodels = ODD.split("## 7. Submodels", 1)[1]
    missing = sorted(name for name in rule_functions() if f"`{name}`" not in submodels)
    assert missing == [], f"rules without a description in ODD section 7: {missing}"


def test_every_function_a_submodel_heading_names_exists():
    named = {n for line in ODD.splitlines() if line.startswith("### 7.")
             for n in re.findall(r"`([a-z_]+)`", line.split("—", 1)[-1])}
    assert named and named <= rule_functions(), sorted(named - rule_functions())
