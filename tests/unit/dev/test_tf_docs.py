"""wildrydes_dev/tf_docs.py: README tables match variables.tf/outputs.tf; the renderer on a small sample."""

import textwrap
from pathlib import Path

from wildrydes_dev import tf_docs

REPO = Path(__file__).resolve().parents[3]

SAMPLE_VARIABLES = textwrap.dedent(
    """\
    variable "name_prefix" {
      description = "Prefix of | every name."
      type        = string
    }

    variable "functions" {
      description = "Per-function knobs."
      type = object({
        ingest = object({
          memory_mb   = optional(number, 256)
          environment = optional(map(string), {})
        })
      })
      default = {
        ingest = {
          memory_mb = 512
        }
      }
    }

    variable "years" {
      description = <<-EOT
        Years the reduction covers,
        one per line.
      EOT
      type    = list(number)
      default = [
        2017,
        2018,
      ]
    }

    variable "key_arn" {
      description = "Quoted \\"arn\\" or null."
      type        = string
      default     = null
      validation {
        condition     = var.key_arn == null || can(regex("^arn:", var.key_arn))
        error_message = "type = must stay a validation."
      }
    }
    """
)

SAMPLE_OUTPUTS = textwrap.dedent(
    """\
    output "api_key" {
      description = "The API key."
      value       = "x"
      sensitive   = true
    }

    output "bucket" {
      description = "The bucket."
      value       = "b"
    }
    """
)


def sample_module(tmp_path: Path) -> Path:
    (tmp_path / "variables.tf").write_text(SAMPLE_VARIABLES)
    (tmp_path / "outputs.tf").write_text(SAMPLE_OUTPUTS)
    return tmp_path


def rows(table: str) -> dict[str, str]:
    return {line.split(" | ")[0].strip("| `"): line for line in table.splitlines() if line.startswith("| `")}


def test_every_readme_table_matches_its_module():
    stale = tf_docs.drifted(REPO)
    assert not stale, (
        f"README tables out of date (run `make docs`): {[str(p.relative_to(REPO)) for p in stale]}"
    )


def test_every_module_has_a_marked_readme():
    modules = tf_docs.module_dirs(REPO)
    assert {p.name for p in modules[1:]} >= {"storage", "queues", "etl_functions", "inference_api"}
    for module_dir in modules:
        text = (module_dir / "README.md").read_text()
        assert text.count(tf_docs.BEGIN) == 1 and text.count(tf_docs.END) == 1, module_dir


def test_types_as_written_including_optional_and_multiline(tmp_path):
    variables, _ = tf_docs.parse_module(sample_module(tmp_path))
    by_name = {v.name: v for v in variables}
    assert by_name["name_prefix"].type == "string"
    assert by_name["years"].type == "list(number)"
    assert by_name["functions"].type == textwrap.dedent(
        """\
        object({
          ingest = object({
            memory_mb   = optional(number, 256)
            environment = optional(map(string), {})
          })
        })"""
    )
    table = rows(tf_docs.render(variables, []))
    assert (
        "<pre>object({<br/>  ingest = object({<br/>    memory_mb   = optional(number, 256)<br/>"
        in table["functions"]
    )
    assert "`list(number)`" in table["years"]


def test_required_defaults_and_escaping(tmp_path):
    variables, _ = tf_docs.parse_module(sample_module(tmp_path))
    table = rows(tf_docs.render(variables, []))
    assert table["name_prefix"].endswith("| `string` | n/a | yes |")
    assert "Prefix of \\| every name." in table["name_prefix"]
    assert '| `{"ingest": {"memory_mb": 512}}` | no |' in table["functions"]  # multi-line default, one cell
    assert "| `[2017, 2018]` | no |" in table["years"]
    assert "Years the reduction covers, one per line." in table["years"]  # heredoc folded into one cell
    assert table["key_arn"].endswith("| `string` | `null` | no |")  # null default: optional, not required
    assert 'Quoted "arn" or null.' in table["key_arn"]


def test_outputs_mark_sensitive(tmp_path):
    _, outputs = tf_docs.parse_module(sample_module(tmp_path))
    table = rows(tf_docs.render([], outputs))
    assert table["api_key"] == "| `api_key` | The API key. (sensitive) |"
    assert table["bucket"] == "| `bucket` | The bucket. |"


def test_update_replaces_only_between_markers_and_check_reports(tmp_path, capsys):
    root = tmp_path
    (root / "modules" / "m").mkdir(parents=True)
    sample_module(root / "modules" / "m")
    (root / "variables.tf").write_text('variable "a" {\n  type = bool\n  default = false\n}\n')
    (root / "README.md").write_text(f"# root\n\nbefore\n{tf_docs.BEGIN}\nstale\n{tf_docs.END}\nafter\n")
    (root / "modules" / "m" / "README.md").write_text("# m\n\nprose\n")
    assert tf_docs.main(["--check", "--root", str(root)]) == 1
    assert "README.md is out of date" in capsys.readouterr().err
    assert tf_docs.main(["--root", str(root)]) == 0
    text = (root / "README.md").read_text()
    assert text.startswith("# root\n\nbefore\n" + tf_docs.BEGIN + "\n### Inputs")
    assert text.endswith(tf_docs.END + "\nafter\n") and "stale" not in text
    module_text = (root / "modules" / "m" / "README.md").read_text()
    assert module_text.startswith("# m\n\nprose\n\n" + tf_docs.BEGIN + "\n## Inputs")
    assert tf_docs.main(["--check", "--root", str(root)]) == 0
