"""A report folder a person reads: report.md and report.html with the same content.

A :class:`Report` is a list of blocks (headings, paragraphs, tables, figures, commands), each
rendered once to Markdown and once to self-contained HTML (figures are linked by relative
path, so the folder can be moved or zipped as a whole).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from voxode.atomic import write_text_atomic

_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;"
    "color:#222;line-height:1.45}\n"
    "table{border-collapse:collapse;margin:0.8em 0}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\n"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%;border:1px solid #eee}\n"
    "figure{margin:1em 0}figcaption{font-size:0.9em;color:#555}"
    "pre{background:#f6f6f6;padding:0.6em;overflow-x:auto}"
)


def format_value(value: Any, digits: int = 4) -> str:
    """A table cell: floats to ``digits`` significant digits, NaN/None as an empty cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


@dataclass
class Report:
    """Blocks of a report; ``write(folder)`` renders report.md and report.html into it."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def table(self, frame: pd.DataFrame, caption: str = "") -> None:
        self.blocks.append(("table", (frame, caption)))

    def figure(self, path: Path, caption: str) -> None:
        """A figure file (PNG/SVG) inside the report folder or below it."""
        self.blocks.append(("figure", (Path(path), caption)))

    def command(self, text: str) -> None:
        """The shell command that regenerates what precedes it."""
        self.blocks.append(("command", text))

    # ------------------------------------------------------------------ rendering
    def markdown(self, folder: Path) -> str:
        lines = [f"# {self.title}", ""]
        for kind, content in self.blocks:
            if kind == "heading":
                level, text = content
                lines += ["#" * level + " " + text, ""]
            elif kind == "paragraph":
                lines += [content, ""]
            elif kind == "table":
                frame, caption = content
                if caption:
                    lines += [f"*{caption}*", ""]
                lines.append("| " + " | ".join(str(c) for c in frame.columns) + " |")
                lines.append("|" + "---|" * len(frame.columns))
                for row in frame.itertuples(index=False):
                    lines.append("| " + " | ".join(format_value(v) for v in row) + " |")
                lines.append("")
            elif kind == "figure":
                path, caption = content
                lines += [f"![{caption}]({_relative(path, folder)})", "", f"*{caption}*", ""]
            elif kind == "command":
                lines += ["```bash", content, "```", ""]
        return "\n".join(lines)

    def html(self, folder: Path) -> str:
        parts = [
            f"<!doctype html><html><head><meta "
            f"charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(self.title)}</h1>"
        ]
        for kind, content in self.blocks:
            if kind == "heading":
                level, text = content
                parts.append(f"<h{level}>{html.escape(text)}</h{level}>")
            elif kind == "paragraph":
                parts.append(f"<p>{html.escape(content)}</p>")
            elif kind == "table":
                frame, caption = content
                head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
                body = "".join(
                    "<tr>"
                    + "".join(f"<td>{html.escape(format_value(v))}</td>" for v in row)
                    + "</tr>"
                    for row in frame.itertuples(index=False)
                )
                cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
                parts.append(f"<table>{cap}<tr>{head}</tr>{body}</table>")
            elif kind == "figure":
                path, caption = content
                parts.append(
                    f"<figure><img src='{html.escape(_relative(path, folder))}' "
                    f"alt='{html.escape(caption)}'>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
            elif kind == "command":
                parts.append(f"<pre><code>{html.escape(content)}</code></pre>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def figures(self) -> list[Path]:
        return [content[0] for kind, content in self.blocks if kind == "figure"]

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write report.md and report.html into ``folder`` (atomically); every figure must exist."""
        missing = [p for p in self.figures() if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"report figure missing: {missing[0]}")
        md = write_text_atomic(folder / "report.md", self.markdown(folder))
        page = write_text_atomic(folder / "report.html", self.html(folder))
        return md, page


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
