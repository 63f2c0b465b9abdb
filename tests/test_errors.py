"""How input errors name files (warehouse.errors)."""

from __future__ import annotations


def test_error_paths_are_shown_relative_to_the_working_folder(tmp_path, monkeypatch) -> None:
    """A file below the working folder is named as the user would type it, also when the path
    reaches it through a symbolic link; a file elsewhere keeps its absolute path."""
    from warehouse.errors import display_path

    (tmp_path / "real" / "maps").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path / "real")
    assert display_path(tmp_path / "real" / "maps" / "a.map") == "maps/a.map"
    assert display_path(tmp_path / "link" / "maps" / "a.map") == "maps/a.map"
    assert display_path("maps/a.map") == "maps/a.map"
    assert display_path(tmp_path / "b.yaml") == str(tmp_path / "b.yaml")
