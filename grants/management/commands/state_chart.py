"""Print the application state chart drawn from the code, or write it into README.md and docs/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from grants import chart


class Command(BaseCommand):
    help = ("Print the grant application state chart (Mermaid, or DOT with --format dot) drawn from the FSM "
            "transitions; --write-readme and --write-docs update README.md and docs/state-machine.md.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=("mermaid", "dot"), default="mermaid",
                            help="What to print: Mermaid stateDiagram-v2 (default) or Graphviz DOT.")
        parser.add_argument("--write-readme", action="store_true",
                            help=f"Replace the chart between {chart.README_START} and {chart.README_END} "
                                 "in README.md.")
        parser.add_argument("--write-docs", action="store_true", help="Write docs/state-machine.md.")

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        if options["write_readme"]:
            readme = base / "README.md"
            try:
                text = readme.read_text(encoding="utf-8")
            except FileNotFoundError as exc:
                raise CommandError(f"{readme} does not exist.") from exc
            try:
                updated = chart.replace_between_markers(text, chart.mermaid_block())
            except ValueError as exc:
                raise CommandError(
                    f"{readme}: {exc}. Put the lines {chart.README_START} and {chart.README_END} where the "
                    "chart belongs.") from exc
            if updated != text:
                readme.write_text(updated, encoding="utf-8")
            self.stdout.write(f"{'Updated' if updated != text else 'Already current:'} {readme}")
        if options["write_docs"]:
            doc = base / "docs" / "state-machine.md"
            doc.parent.mkdir(exist_ok=True)
            doc.write_text(chart.state_machine_doc(), encoding="utf-8")
            self.stdout.write(f"Wrote {doc}")
        if not (options["write_readme"] or options["write_docs"]):
            self.stdout.write(chart.dot() if options["format"] == "dot" else chart.mermaid(), ending="")
