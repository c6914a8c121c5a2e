"""The chart's values reference (charts/motcua/VALUES.md), generated from the `## @section` and
`## @param <key> <description>` comments of values.yaml (the bitnami readme-generator's
convention) with each key's default read from the same file.

    python -m tests.charts.values_readme          # rewrite VALUES.md
    python -m tests.charts.values_readme --check  # exit 1 when VALUES.md differs from that
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "motcua"
VALUES = CHART / "values.yaml"
README = CHART / "VALUES.md"

_SECTION = re.compile(r"^\s*## @section (.+)$")
_PARAM = re.compile(r"^\s*## @param (\S+) (.+)$")
_UNSET = object()


def _default(values: dict[str, Any], key: str) -> Any:
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _UNSET
        node = node[part]
    return node


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(values_text: str) -> str:
    values = yaml.safe_load(values_text)
    lines = ["# motcua chart values", "",
             "Generated from the `@param` comments of [values.yaml](values.yaml) by",
             "`python -m tests.charts.values_readme`; `make check-charts` fails when it is out of date.",
             "Edit values.yaml, not this file.", ""]
    in_table = False
    for line in values_text.splitlines():
        if match := _SECTION.match(line):
            lines += ["", f"## {match.group(1)}", "", "| Name | Description | Default |", "| --- | --- | --- |"]
            in_table = True
        elif match := _PARAM.match(line):
            key, description = match.groups()
            default = _default(values, key)
            if default is _UNSET:
                raise SystemExit(f"values.yaml: @param {key} names no key of values.yaml")
            if not in_table:
                lines += ["| Name | Description | Default |", "| --- | --- | --- |"]
                in_table = True
            shown = json.dumps(default, ensure_ascii=False)
            lines.append(f"| `{key}` | {_cell(description)} | `{_cell(shown)}` |")
    return "\n".join(line for line in lines).replace("\n\n\n", "\n\n").rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check that VALUES.md is up to date")
    args = parser.parse_args(argv)
    wanted = render(VALUES.read_text())
    if args.check:
        if not README.exists() or README.read_text() != wanted:
            print(f"{README.relative_to(CHART.parents[1])} is out of date: run python -m tests.charts.values_readme")
            return 1
        print(f"{README.relative_to(CHART.parents[1])}: up to date with values.yaml")
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
