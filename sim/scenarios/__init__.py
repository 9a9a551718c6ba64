"""The named scenarios: one YAML file each under conf/scenario, with its source in a comment."""

from __future__ import annotations

from sim.config import CONF_DIR, options


def list_scenarios() -> list[str]:
    """Names of every scenario, for ``scenario=NAME``."""
    return list(options("scenario"))


def describe(name: str) -> dict[str, str]:
    """English and Japanese descriptions and the seed source, read from the scenario file's header."""
    lines = (CONF_DIR / "scenario" / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    comments = [ln[2:].strip() for ln in lines if ln.startswith("# ") and not ln.startswith("# @package")]
    source = next((c.removeprefix("Source:").strip() for c in comments if c.startswith("Source:")), "")
    text = [c for c in comments if not c.startswith("Source:")]
    return {"en": text[0] if text else "", "ja": text[1] if len(text) > 1 else "", "source": source}
