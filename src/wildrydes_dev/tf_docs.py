"""README input/output tables from variables.tf/outputs.tf, between terraform-docs markers.

For the root module (README.md) and every module under modules/ (modules/<name>/README.md) the tables
between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` are regenerated from the module's
``variables.tf`` and ``outputs.tf`` (every ``*.tf`` file of the module is read, so a variable declared
elsewhere is not missed). The markers are the ones terraform-docs uses, so the real tool can take over.

    python -m wildrydes_dev.tf_docs            # rewrite every README's table
    python -m wildrydes_dev.tf_docs --check    # exit 1 and name each README whose table drifted

HCL is parsed with ``hcl2`` (names, descriptions, defaults, ``sensitive``); types are taken verbatim from
the source text of each ``type =`` attribute, because ``hcl2`` rewrites type expressions
(``map(string)`` comes back as ``${map(string)}`` and nested ``optional()`` as quoted Python reprs).
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
REPO_ROOT = Path(__file__).resolve().parents[2]
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str  # as written in the source ("" when the variable declares no type)
    default: Any
    has_default: bool

    @property
    def required(self) -> bool:
        return not self.has_default


@dataclass(frozen=True)
class Output:
    name: str
    description: str
    sensitive: bool


# ---------------------------------------------------------------------------- parsing
def _first(block: dict[str, Any], key: str, fallback: Any = None) -> Any:
    value = block.get(key, [fallback])
    value = value[0] if isinstance(value, list) and value else value
    return _unescape(value)


def _unescape(value: Any) -> Any:
    """hcl2 keeps string escapes (\\" stays \\"); undo them in strings, lists and maps."""
    if isinstance(value, str):
        return value.replace('\\"', '"').replace("\\\\", "\\")
    if isinstance(value, list):
        return [_unescape(item) for item in value]
    if isinstance(value, dict):
        return {key: _unescape(item) for key, item in value.items()}
    return value


def _source_attribute(lines: list[str], start: int, end: int, attribute: str) -> str:
    """Source text of ``attribute = <expr>`` at the top level of the block on lines start..end (1-based)."""
    depth = 0
    for index in range(start - 1, min(end, len(lines))):
        line = lines[index]
        stripped = line.strip()
        if depth == 1 and stripped.startswith(attribute):
            rest = stripped[len(attribute) :].lstrip()
            if rest.startswith("=") and not rest.startswith("=="):
                return _expression(lines, index, line.index("=", line.index(attribute)) + 1)
        depth += _depth_change(line)
    return ""


def _expression(lines: list[str], index: int, column: int) -> str:
    """The expression starting at lines[index][column:], continued while brackets are open."""
    parts = [lines[index][column:].strip()]
    depth = _depth_change(parts[0])
    while depth > 0 and index + 1 < len(lines):
        index += 1
        parts.append(lines[index].rstrip())
        depth += _depth_change(lines[index])
    if len(parts) == 1:
        return parts[0]
    # Re-indent continuation lines relative to the closing line (keeps the source's own nesting).
    indent = len(parts[-1]) - len(parts[-1].lstrip())
    return "\n".join([parts[0], *(p[indent:] if p[:indent].strip() == "" else p.strip() for p in parts[1:])])


def _depth_change(line: str) -> int:
    """Net bracket depth of one line, ignoring strings and # / // comments."""
    depth, in_string, escaped = 0, False, False
    for position, char in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "#" or line.startswith("//", position):
            break
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
    return depth


def parse_module(module_dir: Path) -> tuple[list[Variable], list[Output]]:
    variables: list[Variable] = []
    outputs: list[Output] = []
    for tf_file in sorted(module_dir.glob("*.tf")):
        text = tf_file.read_text(encoding="utf-8")
        if "variable" not in text and "output" not in text:
            continue
        lines = text.splitlines()
        parsed = hcl2.loads(text)
        for entry in parsed.get("variable", []):
            for name, block in entry.items():
                variables.append(
                    Variable(
                        name=name,
                        description=str(_first(block, "description", "")),
                        type=_source_attribute(lines, block["__start_line__"], block["__end_line__"], "type"),
                        default=_first(block, "default"),
                        has_default="default" in block,
                    )
                )
        for entry in parsed.get("output", []):
            for name, block in entry.items():
                outputs.append(
                    Output(
                        name=name,
                        description=str(_first(block, "description", "")),
                        sensitive=bool(_first(block, "sensitive", False)),
                    )
                )
    return variables, outputs


# ---------------------------------------------------------------------------- rendering
def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    """A code cell: inline code for one line, <pre> with <br/> for several (as terraform-docs does)."""
    if "\n" in text:
        body = "<br/>".join(html.escape(line, quote=False) for line in text.splitlines())
        return "<pre>" + body.replace("|", "&#124;") + "</pre>"
    return "`" + text.replace("|", "\\|") + "`"


def _default(value: Any) -> str:
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return value[2:-1]  # an expression (hcl2 wraps them in ${}); shown as such
    return json.dumps(value, ensure_ascii=False)


def render(variables: list[Variable], outputs: list[Output], heading: str = "##") -> str:
    """The text between the markers (without the markers themselves)."""
    out = [f"{heading} Inputs", ""]
    if variables:
        out += ["| name | description | type | default | required |", "| --- | --- | --- | --- | --- |"]
        for var in variables:
            default = "n/a" if var.required else _code(_default(var.default))
            type_cell = _code(var.type) if var.type else "`any`"
            required = "yes" if var.required else "no"
            out.append(f"| `{var.name}` | {_cell(var.description)} | {type_cell} | {default} | {required} |")
    else:
        out.append("No inputs.")
    out += ["", f"{heading} Outputs", ""]
    if outputs:
        out += ["| name | description |", "| --- | --- |"]
        for output in outputs:
            description = _cell(output.description) + (" (sensitive)" if output.sensitive else "")
            out.append(f"| `{output.name}` | {description.strip()} |")
    else:
        out.append("No outputs.")
    return "\n".join(out)


def update_readme(text: str, table: str) -> str:
    """README text with the block between the markers replaced (appended at the end when absent)."""
    block = f"{BEGIN}\n{table}\n{END}"
    begin, end = text.find(BEGIN), text.find(END)
    if begin == -1 or end == -1 or end < begin:
        return text.rstrip("\n") + "\n\n" + block + "\n"
    return text[:begin] + block + text[end + len(END) :]


# ---------------------------------------------------------------------------- the repository
def module_dirs(root: Path = REPO_ROOT) -> list[Path]:
    """The root module and every module under modules/ that has .tf files."""
    found = [root] + sorted(p for p in (root / "modules").iterdir() if p.is_dir() and any(p.glob("*.tf")))
    return found


def expected_readme(module_dir: Path, root: Path = REPO_ROOT) -> tuple[Path, str]:
    readme = module_dir / "README.md"
    heading = "###" if module_dir == root else "##"  # the root's tables sit under "## Configuration"
    current = readme.read_text(encoding="utf-8") if readme.exists() else f"# {module_dir.name}\n"
    return readme, update_readme(current, render(*parse_module(module_dir), heading=heading))


def drifted(root: Path = REPO_ROOT) -> list[Path]:
    """READMEs whose table does not match their module's variables/outputs."""
    stale = []
    for module_dir in module_dirs(root):
        readme, expected = expected_readme(module_dir, root)
        if not readme.exists() or readme.read_text(encoding="utf-8") != expected:
            stale.append(readme)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wildrydes_dev.tf_docs", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if any README drifted")
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        stale = drifted(root)
        for readme in stale:
            print(f"tf_docs: {readme.relative_to(root)} is out of date; run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for module_dir in module_dirs(root):
        readme, expected = expected_readme(module_dir, root)
        if not readme.exists() or readme.read_text(encoding="utf-8") != expected:
            readme.write_text(expected, encoding="utf-8")
            print(f"tf_docs: wrote {readme.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
