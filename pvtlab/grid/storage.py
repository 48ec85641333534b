"""Open the Optuna storage that holds a grid's queue and its results, and tell a busy database from a bug.

``--storage`` takes a journal file (the default, ``results/<name>/optuna.journal``), ``sqlite:///FILE`` or a
SQLAlchemy URL such as ``postgresql://USER:PASSWORD@HOST/DB`` (several machines; needs the ``postgres``
extra: ``pip install -e ".[postgres]"``). RDB storages (SQLite, PostgreSQL, MySQL) are opened with Optuna's
heartbeat: a running cell records a heartbeat every ``heartbeat_s``, and a cell whose heartbeat is older than
``grace_s`` by the *database's* clock is failed and enqueued again (``RetryHeartbeatStaleTrialCallback``),
so worker clocks never matter. The journal storage has no heartbeat in Optuna 5.0; queue.py says what
stands in for it.

Only operational database errors (a locked SQLite file, a dropped connection) are retried; any other
exception is a bug and surfaces with its traceback. A URL that cannot be used is the user's: one line, exit 2,
never with the password in it.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from pvtlab.errors import UserInputError
from pvtlab.files import JOURNAL_FILE

from .heartbeat import GRACE_S, Requeue, heartbeat_s, quiet

# "postgres" is no SQLAlchemy dialect: it is listed so that its error names postgresql://.
_RDB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
ALLOWED = ("a journal file path (*.journal, *.log) or journal:///PATH, sqlite:///FILE, "
           "postgresql://USER@HOST/DB or another SQLAlchemy URL")
# The driver each URL scheme needs by default, and the extra that installs it.
DRIVER_EXTRAS = {"psycopg": "postgres", "psycopg2": "postgres"}
T = TypeVar("T")


@dataclass(frozen=True)
class StorageSpec:
    """Where the grid's queue lives: ``kind`` is journal or rdb; ``claim_lock`` serializes claims on SQLite."""

    kind: str
    target: str
    claim_lock: Path | None = None

    @property
    def description(self) -> str:
        """The storage as it may be printed: a journal file, or the URL with its password hidden."""
        return f"journal file {self.target}" if self.kind == "journal" else safe_url(self.target)


def safe_url(url: str) -> str:
    """``url`` with any password replaced by ***."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001  (not a URL SQLAlchemy can read: show no more than its scheme)
        return url.split("://", 1)[0] + "://..." if "://" in url else url


def parse_storage(url: str | None, results_dir: Path) -> StorageSpec:
    """Check ``--storage`` without touching anything; None means the default journal file."""
    if url is None:
        return StorageSpec("journal", str(results_dir / JOURNAL_FILE))
    if url.startswith("journal:"):
        return _journal(url, Path(url.removeprefix("journal:").removeprefix("//")))
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        file = url.split("///", 1)[1] if "///" in url else ""
        if not file or file == ":memory:":
            raise UserInputError(f"--storage={url!r} is not allowed; give a file: sqlite:///PATH "
                                 f"(an in-memory database cannot be shared by workers)")
        path = Path(file)
        if not path.parent.is_dir():
            raise UserInputError(f"--storage={url!r} is not allowed; folder '{path.parent}' does not exist")
        # SQLite has no row locks: two processes could both move one waiting trial to running. SQLite is one
        # machine's database, so a lock file beside it serializes the claims.
        return StorageSpec("rdb", url, path.with_name(path.name + ".claim.lock"))
    if scheme in _RDB_SCHEMES:
        _check_dialect(url)
        return StorageSpec("rdb", url)
    if "://" not in url and url.endswith((".journal", ".log")):
        return _journal(url, Path(url))
    raise UserInputError(f"--storage={safe_url(url)!r} is not allowed; give {ALLOWED}")


def _check_dialect(url: str) -> None:
    """A UserInputError unless SQLAlchemy reads ``url`` and knows its dialect (``postgres://`` it does not)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import NoSuchModuleError

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001  (SQLAlchemy's ArgumentError and ValueError both mean a bad URL)
        raise UserInputError(f"--storage={safe_url(url)!r} is not allowed; it is not a valid database URL "
                             f"(e.g. postgresql://USER:PASSWORD@HOST:PORT/DB)") from None
    try:
        parsed.get_dialect()  # loads SQLAlchemy's dialect class only; the driver is imported on connect
    except NoSuchModuleError:
        hint = "; use postgresql://" if parsed.get_backend_name() == "postgres" else ""
        raise UserInputError(f"--storage scheme {parsed.drivername + '://'!r} is not one SQLAlchemy knows{hint} "
                             f"(allowed: {', '.join(s for s in _RDB_SCHEMES if s != 'postgres')}, each optionally "
                             f"+DRIVER)") from None


def _journal(url: str, path: Path) -> StorageSpec:
    if not str(path) or not path.parent.is_dir():
        raise UserInputError(f"--storage={url!r} is not allowed; folder '{path.parent}' does not exist")
    return StorageSpec("journal", str(path))


def open_storage(spec: StorageSpec, *, grace_s: int = GRACE_S) -> BaseStorage:
    """Connect (creating the file or tables when new). A missing driver or a database that cannot be reached
    is a UserInputError; anything else is a bug and raises as it is."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if spec.kind == "journal":
        Path(spec.target).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(spec.target))
    kwargs = {"connect_args": {"timeout": 60}} if spec.target.startswith("sqlite") else {}
    shown = safe_url(spec.target)
    try:
        with quiet():  # heartbeat_interval is marked experimental
            return RDBStorage(spec.target, engine_kwargs=kwargs, heartbeat_interval=heartbeat_s(grace_s),
                              grace_period=grace_s,
                              heartbeat_stale_trial_callback=Requeue())
    except ImportError as exc:
        module = _missing_module(exc)
        extra = DRIVER_EXTRAS.get(module.split(".")[0])
        fix = f'pip install -e ".[{extra}]"' if extra else f"pip install {module}"
        raise UserInputError(f"--storage={shown!r} needs the database driver '{module}', which is not installed; "
                             f"{fix}") from None
    except Exception as exc:
        if not is_operational(exc):
            raise
        raise UserInputError(f"cannot open --storage={shown!r}: {_first_line(exc, spec.target)}") from None


def _missing_module(exc: ImportError) -> str:
    """The module that failed to import (Optuna wraps the driver's ImportError in its own)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ImportError) and seen.name:
            return seen.name
        seen = seen.__cause__ or seen.__context__
    return str(exc)


def is_operational(exc: BaseException) -> bool:
    """True for a database that is busy, gone or unreachable (worth retrying), not for a bug."""
    from sqlalchemy import exc as sa_exc

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                             sqlite3.OperationalError)):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retrying(call: Callable[[], T], *, log: TextIO | None = None, tries: int = 6) -> T:
    """``call()``, again after an operational database error (with back-off); any other error raises at once."""
    for attempt in range(tries):
        try:
            return call()
        except Exception as exc:
            if not is_operational(exc) or attempt == tries - 1:
                raise
            print(f"storage busy ({type(exc).__name__}); retrying", file=log or sys.stderr, flush=True)
            time.sleep(0.5 * 2 ** attempt)
    raise AssertionError("unreachable")


def _first_line(exc: BaseException, url: str) -> str:
    """The driver's own reason, one line, with the URL's password removed wherever it appears."""
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    text = " ".join(str(cause).split()) or type(cause).__name__
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:  # noqa: BLE001
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text.split(" (Background on this error")[0][:300]
