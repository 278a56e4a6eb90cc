"""A per-task folder holding generated code and tests."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

_IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache"})


class Workspace:
    """A per-task folder. Paths given to it are relative and must stay inside it.

    Every path is checked after resolving symlinks, so neither ``..``, absolute paths nor a
    symlink inside the workspace can make ``write`` or ``read`` touch a file outside ``root``.
    """

    def __init__(self, root: Path) -> None:
        self.root: Path = Path(root).resolve()

    @classmethod
    def create(cls, base_dir: Path, task_id: str) -> Workspace:
        """Create (if missing) and return the workspace ``base_dir/task_id``.

        ``task_id`` must be a single plain path component.
        """
        if task_id in ("", ".", "..") or "/" in task_id or "\0" in task_id:
            raise ValueError(f"task id {task_id!r} is not a plain folder name")
        root = Path(base_dir) / task_id
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    def write(self, relative_path: str, text: str) -> Path:
        """Write ``text`` as UTF-8 to ``relative_path``, creating parent folders; return the path.

        Raises ValueError naming the path if it is absolute, contains ``..`` or resolves outside
        the workspace.
        """
        target = self._resolve(relative_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def read(self, relative_path: str) -> str:
        """Read the UTF-8 file at ``relative_path``; same path rules as ``write``."""
        return self._resolve(relative_path).read_text(encoding="utf-8")

    def files(self) -> list[str]:
        """Relative POSIX paths of all files, sorted, excluding __pycache__ and .pytest_cache."""
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [name for name in dirs if name not in _IGNORED_DIRS]
            relative = Path(folder).relative_to(self.root)
            found.extend((relative / name).as_posix() for name in names)
        return sorted(found)

    def _resolve(self, relative_path: str) -> Path:
        pure = PurePosixPath(relative_path)
        if not relative_path or pure.is_absolute() or ".." in pure.parts:
            raise ValueError(
                f"workspace path {relative_path!r} must be relative and must not contain '..'"
            )
        target = (self.root / pure).resolve()
        if target == self.root or not target.is_relative_to(self.root):
            raise ValueError(
                f"workspace path {relative_path!r} resolves to {target}, "
                f"which is not inside {self.root}"
            )
        return target
