"""The README's configuration table is the one generated from Settings (run `make docs`)."""

from __future__ import annotations

from pathlib import Path

from plugboard.settings import Settings
from plugboard.settings_doc import render_table, replace_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_configuration_table_is_the_generated_one() -> None:
    readme = README.read_text(encoding="utf-8")
    assert replace_table(readme) == readme, "README.md's settings table is stale: run make docs"


def test_every_setting_is_in_the_readme_with_its_description() -> None:
    readme = README.read_text(encoding="utf-8")
    for name, info in Settings.model_fields.items():
        assert f"`PLUGBOARD_{name.upper()}`" in readme, name
        assert info.description, f"{name} has no description"


def test_a_new_setting_changes_the_generated_table() -> None:
    before = render_table()
    Settings.model_fields["zz_probe"] = Settings.model_fields["port"]
    try:
        assert "`PLUGBOARD_ZZ_PROBE`" in render_table() and render_table() != before
    finally:
        del Settings.model_fields["zz_probe"]
