"""A Spark cluster on this machine's loopback, for the benchmark's scale-out runs and the engine
tests, from what the ``pyspark`` package ships (``bin/spark-class``): a standalone master,
workers (each its own process, cores, memory and work directory) and a Spark Connect server
that runs its driver on them. Every process is started in its own process group and stopped by
it (an executor is its worker's child).

    with SparkCluster(tmp / "cluster", workers=2) as cluster:
        cluster.master_url               # spark://127.0.0.1:PORT
        cluster.start_connect()          # sc://127.0.0.1:PORT
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import psutil

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"
SUBMIT = "org.apache.spark.deploy.SparkSubmit"
CONNECT = "org.apache.spark.sql.connect.service.SparkConnectServer"
HOST = "127.0.0.1"
START_SECONDS = 120
# ``quick_jit``: every JVM compiles with C1 only. On short jobs over small tables (the tests),
# C2's compiles cost more CPU than they win back: the project through Spark Connect on the real
# table took 66 s and 87 s of the cluster's CPU instead of 84 s and 149 s, and through a master
# 74 s instead of 92 s. The benchmark leaves it off (long jobs on large tables need C2's code).
QUICK_JIT = "-XX:TieredStopAtLevel=1"


def spark_home() -> Path:
    """The ``pyspark`` package's folder: Spark's jars and ``bin/spark-class``."""
    import pyspark  # noqa: PLC0415 - only where Spark runs

    return Path(pyspark.__file__).parent


def free_port() -> int:
    """A loopback port no one listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class SparkCluster:
    """A standalone master and ``workers`` workers (``cores`` and ``memory`` each) under
    ``root``; :meth:`start_connect` adds a Spark Connect server. :meth:`stop` ends them all.
    """

    def __init__(
        self,
        root: Path,
        workers: int = 2,
        cores: int = 1,
        memory: str = "2g",
        *,
        quick_jit: bool = False,
    ) -> None:
        self.root = root
        self.workers, self.cores, self.memory = workers, cores, memory
        self.quick_jit = quick_jit
        self.master_url = ""
        self.connect_url = ""
        self.processes: list[subprocess.Popen] = []
        self._logs: list[IO[bytes]] = []

    def environment(self) -> dict[str, str]:
        """What a process of the cluster (or a driver that uses it) runs with: Spark from the
        ``pyspark`` package, loopback only, and this Python for the executors' Python workers;
        with ``quick_jit``, a PySpark driver started with it and its executors compile with C1
        only (``PYSPARK_SUBMIT_ARGS``), as do the master and the workers.
        """
        environment = {
            **os.environ,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": HOST,
            "PYSPARK_PYTHON": sys.executable,
            # No REST submission server (a fixed port, 6066) and no UI.
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false -Dspark.ui.enabled=false",
            "SPARK_WORKER_OPTS": "-Dspark.ui.enabled=false",
        }
        if self.quick_jit:
            environment["SPARK_DAEMON_JAVA_OPTS"] = QUICK_JIT
            environment["PYSPARK_SUBMIT_ARGS"] = (
                " ".join(f"--conf {key}={value}" for key, value in self._jit_settings().items())
                + " pyspark-shell"
            )
        return environment

    def _jit_settings(self) -> dict[str, str]:
        """The driver's and the executors' JVM options that ``quick_jit`` asks for."""
        if not self.quick_jit:
            return {}
        return {
            "spark.driver.extraJavaOptions": QUICK_JIT,
            "spark.executor.extraJavaOptions": QUICK_JIT,
        }

    def _start(self, name: str, args: list[str], ready: str, seconds: float) -> re.Match:
        log_path = self.root / f"{name}.log"
        log = log_path.open("wb")
        self._logs.append(log)
        process = subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            cwd=self.root,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends its children too
        )
        self.processes.append(process)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(ready, log_path.read_text(errors="replace"))
            if found:
                return found
            if process.poll() is not None:
                break
            time.sleep(0.2)
        tail = log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"Spark {name} did not start (waited for {ready!r}):\n{tail}")

    def start(self) -> SparkCluster:
        """The master, then the workers, each registered with it."""
        self.root.mkdir(parents=True, exist_ok=True)
        found = self._start(
            "master",
            [MASTER, "--host", HOST, "--port", "0", "--webui-port", "0"],
            r"Starting Spark master at (spark://\S+)",
            START_SECONDS,
        )
        self.master_url = found.group(1)
        for number, work in enumerate(self.worker_dirs(), start=1):
            work.mkdir(exist_ok=True)
            self._start(
                f"worker{number}",
                [
                    WORKER,
                    *("--host", HOST, "--port", "0", "--webui-port", "0"),
                    *("--cores", str(self.cores), "--memory", self.memory),
                    *("--work-dir", str(work), self.master_url),
                ],
                r"Successfully registered with master",
                START_SECONDS,
            )
        return self

    def worker_dirs(self) -> list[Path]:
        """Each worker's work folder: one folder per application it ran executors for."""
        return [self.root / f"worker{number}" for number in range(1, self.workers + 1)]

    def start_connect(self, settings: dict[str, str] | None = None) -> str:
        """A Spark Connect server whose driver runs on the cluster (its application takes the
        workers' cores while it lives); its ``sc://`` address.
        """
        port = free_port()
        conf = {
            "spark.connect.grpc.binding.address": HOST,
            "spark.connect.grpc.binding.port": str(port),
            "spark.driver.bindAddress": HOST,
            "spark.driver.host": HOST,
            "spark.ui.enabled": "false",
            **self._jit_settings(),
            **(settings or {}),
        }
        self._start(
            "connect",
            [
                SUBMIT,
                *("--class", CONNECT, "--name", "connect", "--master", self.master_url),
                *("--driver-memory", "1g"),
                *(arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")),
                "spark-internal",
            ],
            r"Spark Connect server started at",
            START_SECONDS,
        )
        self.connect_url = f"sc://{HOST}:{port}"
        return self.connect_url

    def pids(self) -> list[int]:
        """Every process the cluster runs now: the ones it started and their children
        (executors, Python workers).
        """
        alive = []
        for process in self.processes:
            try:
                parent = psutil.Process(process.pid)
                alive += [parent.pid, *(c.pid for c in parent.children(recursive=True))]
            except psutil.NoSuchProcess:
                continue
        return alive

    def stop(self) -> None:
        """End every process the cluster started, newest first, with its process group."""
        for process in reversed(self.processes):
            if process.poll() is None:
                _end_group(process)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def __enter__(self) -> SparkCluster:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()


def _end_group(process: subprocess.Popen, seconds: float = 30) -> None:
    """SIGTERM to the process's group, then SIGKILL to what is left after ``seconds``."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        return
    try:  # the group's other members (an executor that outlived its worker)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
