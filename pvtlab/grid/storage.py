"""Open the Optuna storage that dispatches a grid's cells to its workers.

``--storage`` takes a journal file (the default, ``results/<name>/optuna.journal``: safe for many processes
on one machine and on NFS), ``sqlite:///FILE`` (one machine) or any SQLAlchemy URL such as
``postgresql://...`` or ``mysql://...`` (many machines). For the two file-based storages the grid also
takes a local file lock around claiming cells, because SQLite has no row locks: without it two processes
can both read a cell as waiting and both run it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from pvtlab.errors import UserInputError

JOURNAL_FILE = "optuna.journal"
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
ALLOWED = ("a journal file path (*.journal, *.log) or journal:///PATH, sqlite:///FILE, "
           "postgresql://USER@HOST/DB or another SQLAlchemy URL")


@dataclass(frozen=True)
class StorageSpec:
    """Where the grid's queue lives: ``kind`` is journal or rdb; ``lock`` guards claims on file storages."""

    kind: str
    target: str
    lock: Path | None

    @property
    def description(self) -> str:
        return self.target if self.kind == "rdb" else f"journal file {self.target}"


def parse_storage(url: str | None, results_dir: Path) -> StorageSpec:
    """Check ``--storage`` without touching anything; None means the default journal file."""
    if url is None:
        path = results_dir / JOURNAL_FILE
        return StorageSpec("journal", str(path), path.with_name(path.name + ".claim.lock"))
    if url.startswith("journal:"):
        path = Path(url.removeprefix("journal:").removeprefix("//"))
        return _journal(url, path)
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        file = url.split("///", 1)[1] if "///" in url else ""
        if not file or file == ":memory:":
            raise UserInputError(f"--storage={url!r} is not allowed; give a file: sqlite:///PATH "
                                 f"(an in-memory database cannot be shared by workers)")
        path = Path(file)
        if not path.parent.is_dir():
            raise UserInputError(f"--storage={url!r} is not allowed; folder '{path.parent}' does not exist")
        return StorageSpec("rdb", url, path.with_name(path.name + ".claim.lock"))
    if scheme in _RDB_SCHEMES:
        return StorageSpec("rdb", url, None)
    if "://" not in url and url.endswith((".journal", ".log")):
        return _journal(url, Path(url))
    raise UserInputError(f"--storage={url!r} is not allowed; give {ALLOWED}")


def _journal(url: str, path: Path) -> StorageSpec:
    if not str(path) or not path.parent.is_dir():
        raise UserInputError(f"--storage={url!r} is not allowed; folder '{path.parent}' does not exist")
    return StorageSpec("journal", str(path), path.with_name(path.name + ".claim.lock"))


def open_storage(spec: StorageSpec) -> BaseStorage:
    """Connect (creating the file or tables when new); a failure is the user's URL, so a UserInputError."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if spec.kind == "journal":
                Path(spec.target).parent.mkdir(parents=True, exist_ok=True)
                return JournalStorage(JournalFileBackend(spec.target))
            kwargs = {"connect_args": {"timeout": 60}} if spec.target.startswith("sqlite") else {}
            return RDBStorage(spec.target, engine_kwargs=kwargs)
    except (ImportError, ModuleNotFoundError) as exc:
        raise UserInputError(f"--storage={spec.target!r} needs a database driver that is not installed "
                             f"({exc.name or exc}); pip install it or use a journal file") from None
    except Exception as exc:  # noqa: BLE001  (SQLAlchemy's errors vary by driver)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserInputError(f"cannot open --storage={spec.target!r}: {first}") from None
