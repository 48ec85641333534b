"""Real services for tests: a throwaway PostgreSQL and a single-node SLURM cluster, each in a temp folder on free
localhost ports, stopped by the pids it started. Each starter skips (with the reason) only where the machine
cannot have the service; ``.ci/run`` installs the SLURM packages where they are missing.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(folders[-1]) if folders and Path(folders[-1], "pg_ctl").exists() else None


@contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL cluster of its own (``initdb``, ``pg_ctl``) with an empty database; yields its URL."""
    pytest.importorskip("psycopg", reason='the postgres extra is not installed (pip install -e ".[postgres]")')
    bin_dir = _pg_binaries()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    folder = Path(tempfile.mkdtemp(prefix="pvtlab-pg-"))  # not under pytest's 0700 root: postgres must reach it
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
        folder.chmod(0o755)
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        subprocess.run([*as_user, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "grid"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/grid"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


SLURM_PACKAGES = "apt-get install -y slurmctld slurmd slurm-client"


def _slurm_conf(folder: Path) -> str:
    node = subprocess.run(["slurmd", "-C"], check=True, capture_output=True, text=True).stdout.splitlines()[0]
    host = socket.gethostname().split(".")[0]
    (folder / "plugstack.conf").write_text("")
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    return "\n".join([
        "ClusterName=pvtlabtest", f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={free_port()}", f"SlurmdPort={free_port()}",
        "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/none", "CredType=cred/none",
        f"StateSaveLocation={folder / 'state'}", f"SlurmdSpoolDir={folder / 'spool'}",
        f"SlurmctldPidFile={folder / 'slurmctld.pid'}", f"SlurmdPidFile={folder / 'slurmd.pid'}",
        f"SlurmctldLogFile={folder / 'slurmctld.log'}", f"SlurmdLogFile={folder / 'slurmd.log'}",
        "ProctrackType=proctrack/pgid", "TaskPlugin=task/none", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none", "MpiDefault=none", "ReturnToService=2",
        f"PlugStackConfig={folder / 'plugstack.conf'}", "SchedulerParameters=batch_sched_delay=0",
        "KillWait=5", "MinJobAge=3600",
        f"{node} NodeAddr=127.0.0.1", "PartitionName=test Nodes=ALL Default=YES State=UP MaxTime=INFINITE", ""])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def slurm_cluster() -> Iterator[dict[str, str]]:
    """A single-node SLURM cluster (slurmctld + slurmd as root, auth/none); yields the environment its clients
    need (``SLURM_CONF``) merged into this process's."""
    missing = [tool for tool in ("slurmctld", "slurmd", "sbatch", "squeue", "scancel")
               if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]
    if missing:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)} missing); as root: {SLURM_PACKAGES}")
    if os.geteuid() != 0:
        pytest.skip("a test SLURM cluster runs its daemons as root (SlurmUser=root); not root here")
    folder = Path(tempfile.mkdtemp(prefix="pvtlab-slurm-"))
    conf = folder / "slurm.conf"
    conf.write_text(_slurm_conf(folder))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    sbin = lambda name: shutil.which(name) or f"/usr/sbin/{name}"  # noqa: E731
    procs = [subprocess.Popen([sbin("slurmctld"), "-D", "-c", "-f", str(conf)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs.append(subprocess.Popen([sbin("slurmd"), "-D", "-f", str(conf)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        deadline = time.monotonic() + 30
        while True:
            state = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout
            if state.strip() == "idle":
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                log = (folder / "slurmctld.log").read_text()[-800:] if (folder / "slurmctld.log").exists() else ""
                raise RuntimeError(f"the test SLURM cluster did not come up (sinfo: {state.strip()!r}): {log}")
            time.sleep(0.2)
        yield env
    finally:
        subprocess.run(["scancel", "--full", "--user=root"], env=env, capture_output=True)
        for proc in reversed(procs):
            _stop(proc)
        _kill_stepds(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _kill_stepds(folder: Path) -> None:
    """slurmstepd processes this cluster left behind (slurmd passed them its ``SLURM_CONF`` environment)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "slurmstepd" in cmdline and f"SLURM_CONF={folder}" in environ:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except ProcessLookupError:
                pass
