"""``python -m motcua.dossiers.forms demo OUTDIR``: writes a sample PDF of each form."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import render
from .samples import SAMPLES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.dossiers.forms",
                                     description="The one-stop-shop forms as PDFs in Vietnamese.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write a sample PDF of each form into OUTDIR")
    demo.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    for name, sample in SAMPLES.items():
        path = args.outdir / f"{name}.pdf"
        path.write_bytes(render(sample()))
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
