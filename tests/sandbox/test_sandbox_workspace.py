import os
import re
from pathlib import Path

import pytest

from podium.sandbox import Workspace


def test_create_makes_the_task_folder(tmp_path: Path) -> None:
    workspace = Workspace.create(tmp_path / "base", "task-7")

    assert workspace.root == (tmp_path / "base" / "task-7").resolve()
    assert workspace.root.is_dir()
    assert Workspace.create(tmp_path / "base", "task-7").root == workspace.root


@pytest.mark.parametrize("task_id", ["", ".", "..", "a/b", "../evil"])
def test_create_refuses_task_ids_that_are_not_folder_names(tmp_path: Path, task_id: str) -> None:
    with pytest.raises(ValueError, match="task id"):
        Workspace.create(tmp_path, task_id)


def test_write_read_and_files(workspace: Workspace) -> None:
    written = workspace.write("pkg/mod.py", "X = 1\n")
    workspace.write("test_mod.py", "def test(): pass\n")
    (workspace.root / "pkg" / "__pycache__").mkdir()
    (workspace.root / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"")
    (workspace.root / ".pytest_cache").mkdir()
    (workspace.root / ".pytest_cache" / "README.md").write_text("cache")

    assert written == workspace.root / "pkg" / "mod.py"
    assert workspace.read("pkg/mod.py") == "X = 1\n"
    assert workspace.files() == ["pkg/mod.py", "test_mod.py"]


@pytest.mark.parametrize("path", ["../outside.py", "a/../../outside.py", "/etc/passwd", "", "."])
def test_paths_escaping_the_workspace_are_refused(workspace: Workspace, path: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(path))):
        workspace.write(path, "x")
    with pytest.raises(ValueError, match="workspace path"):
        workspace.read(path)


def test_symlink_escapes_are_refused(workspace: Workspace, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, workspace.root / "link")
    os.symlink(outside / "file.txt", workspace.root / "file-link.txt")

    with pytest.raises(ValueError, match="'link/x.py'.*not inside"):
        workspace.write("link/x.py", "x")
    with pytest.raises(ValueError, match="'file-link.txt'"):
        workspace.write("file-link.txt", "x")

    assert list(outside.iterdir()) == []
