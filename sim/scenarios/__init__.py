"""The named scenarios: one YAML file each under conf/scenario, with its source in a comment.

Each file starts with ``# @package _global_``, then ``# Name: <short English> | <short Japanese>`` (the
display names of tables, sliders and reports; optional in a planner's own file, where the file name
stands in), then three comment lines: an English description, a Japanese one, and ``Source:`` with the
seed document(s) and line(s) it comes from. Planners and tools read the catalogue here rather than
parsing the files themselves.
"""

from __future__ import annotations

from sim.config import option_file, options


def list_scenarios() -> list[str]:
    """Names of every scenario, for ``scenario=NAME`` (the files in conf/scenario and in the user's
    configuration folders, ``sim.config.config_dirs``)."""
    return list(options("scenario"))


def describe(name: str) -> dict[str, str]:
    """Short display names (``name_en``, ``name_ja``), English (``en``) and Japanese (``ja``)
    descriptions and the seed ``source``, from the file's header."""
    lines = option_file("scenario", name).read_text(encoding="utf-8").splitlines()
    comments = [ln[2:].strip() for ln in lines if ln.startswith("# ") and not ln.startswith("# @package")]

    def tagged(tag: str) -> str:
        return next((c.removeprefix(tag).strip() for c in comments if c.startswith(tag)), "")

    en_name, _, ja_name = tagged("Name:").partition("|")
    text = [c for c in comments if not c.startswith(("Source:", "Name:"))]
    return {"name_en": en_name.strip() or name, "name_ja": ja_name.strip() or en_name.strip() or name,
            "en": text[0] if text else "", "ja": text[1] if len(text) > 1 else "",
            "source": tagged("Source:")}
