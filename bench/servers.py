"""Starting and stopping the servers under test on loopback: ZAS, its S3 peers and the
reference apps. A server that cannot be found or started raises Absent with the reason, which
the report shows instead of dropping the column."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import attrs

from bench.http1 import Endpoint, exchange

CACHE = Path(os.environ.get("ZAS_BENCH_CACHE", Path.home() / ".cache" / "zas-bench"))
ACCESS_KEY = "ZASBENCHACCESSKEY001"
SECRET_KEY = "zas-bench-secret-key-0001/abcdefghijklmno"
BUCKET = "bench"
READY_TIMEOUT = 60.0


class Absent(Exception):
    """The server is not installed or would not start; the message says why."""


@attrs.define
class Server:
    name: str
    kind: str  # "s3" or "reference"
    endpoint: Endpoint
    process: subprocess.Popen[bytes]
    log_path: Path
    version: str
    startup_s: float

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_answers(endpoint: Endpoint) -> bool:
    try:
        with endpoint.connect(timeout=2) as sock:
            sock.sendall(
                f"GET /health/ready HTTP/1.1\r\nHost: {endpoint.authority}\r\n\r\n".encode()
            )
            return sock.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _bucket_created(endpoint: Endpoint) -> bool:
    try:
        with endpoint.connect(timeout=5) as sock:
            response = exchange(endpoint, sock, "PUT", f"/{BUCKET}")
    except OSError:
        return False
    return response.status == 200 or b"BucketAlready" in response.body


def _any_answer(endpoint: Endpoint) -> bool:
    try:
        with endpoint.connect(timeout=2) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {endpoint.authority}\r\n\r\n".encode())
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


def _launch(
    name: str,
    kind: str,
    command: list[str],
    workdir: Path,
    endpoint: Endpoint,
    ready: Callable[[Endpoint], bool],
    version: str,
    env: dict[str, str] | None = None,
    *,
    unset_prefixes: tuple[str, ...] = (),
    unset_names: Collection[str] = (),
    stdout_devnull: bool = False,
) -> Server:
    """Output goes to `<workdir>/<name>.log` (a file, never a pipe nobody reads, so a server
    that logs every request cannot block on it); with `stdout_devnull` only stderr does.
    Inherited variables starting with one of `unset_prefixes`, or named in `unset_names`, are
    removed before `env`."""
    log_path = workdir / f"{name}.log"
    begin = time.monotonic()
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(unset_prefixes) and k not in unset_names
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL if stdout_devnull else log,
            stderr=log if stdout_devnull else subprocess.STDOUT,
            env={**inherited, **(env or {})},
            cwd=workdir,
            start_new_session=True,  # its own process group: stop() reaches every child
        )
    server = Server(name, kind, endpoint, process, log_path, version, 0.0)
    deadline = begin + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise Absent(f"exited with {process.returncode} on start: {server.log_tail(5)}")
        if ready(endpoint):
            server.startup_s = time.monotonic() - begin
            return server
        time.sleep(0.1)
    server.stop()
    raise Absent(f"not ready after {READY_TIMEOUT:.0f}s: {server.log_tail(5)}")


def _endpoint(port: int, access: str = ACCESS_KEY, secret: str = SECRET_KEY) -> Endpoint:
    return Endpoint("127.0.0.1", port, access, secret)


def zas_commit() -> str:
    """The commit of the ZAS that `python -m zas.cli.main` will run (the one on this
    interpreter's path), with "+dirty" if its zas/ has uncommitted changes."""
    try:
        # Resolved as the server process will (its cwd is not this checkout).
        source = subprocess.run(
            [sys.executable, "-c", "import os, zas; print(os.path.dirname(zas.__file__))"],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    try:
        head = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"unknown ({source})"
    return head + ("+dirty" if dirty else "")


def _python_version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError as exc:
        raise Absent(f"Python package {module} is not installed (pip install '.[bench]')") from exc


# ZAS with its observability as shipped (metrics counted, one JSON access line per request,
# tracing off), and variants that turn parts off or on; `zas` sets the defaults explicitly so an
# exported ZAS_METRICS=false or OTEL_TRACES_EXPORTER in the caller's shell cannot change it.
# Every variant drops inherited OTEL_* variables. Logs go to <workdir>/<name>.log.
ZAS_DEFAULTS = {"ZAS_METRICS": "true", "ZAS_ACCESS_LOG": "true", "ZAS_LOG_FORMAT": "json"}
ZAS_VARIANTS: dict[str, dict[str, str]] = {
    "zas": {},
    # Counting off (QuietMetrics) and no access line: what the request path costs without them.
    "zas-quiet": {"ZAS_METRICS": "false", "ZAS_ACCESS_LOG": "false"},
    # Tracing on: every request exports its spans (batched) as JSON to stdout = /dev/null.
    "zas-traced": {"OTEL_TRACES_EXPORTER": "console"},
}


def is_zas(name: str) -> bool:
    """ZAS itself or one of its configuration variants (they run the ZAS-only workloads)."""
    return name in ZAS_VARIANTS


def start_zas(
    workdir: Path, variant: str = "zas", environment: Mapping[str, str | None] | None = None
) -> Server:
    """ZAS from this interpreter. `environment`: variables for this server only, over the
    harness's own; None removes an inherited one (`bench.ab` starts a revision with its tree
    on PYTHONPATH, `bench.variants` a setting to compare)."""
    port = free_port()
    extra = environment or {}
    data = workdir / f"{variant}-data"
    command = [
        sys.executable,
        "-m",
        "zas.cli.main",
        "serve",
        "--data-dir",
        str(data),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    env = {
        "ZAS_ROOT_ACCESS_KEY": ACCESS_KEY,
        "ZAS_ROOT_SECRET_KEY": SECRET_KEY,
        **ZAS_DEFAULTS,
        **ZAS_VARIANTS[variant],
        **{name: value for name, value in extra.items() if value is not None},
    }
    server = _launch(
        variant,
        "s3",
        command,
        workdir,
        _endpoint(port),
        _http_answers,
        f"{_python_version('zas')} ({zas_commit()})",
        env,
        unset_prefixes=("OTEL_",),
        unset_names=[name for name, value in extra.items() if value is None],
        stdout_devnull="OTEL_TRACES_EXPORTER" in env,
    )
    if not _bucket_created(server.endpoint):
        server.stop()
        raise Absent("could not create the bench bucket")
    return server


def _zas_variant(variant: str) -> Callable[[Path], Server]:
    def start(workdir: Path) -> Server:
        return start_zas(workdir, variant)

    return start


def start_reference(app: str, workers: int) -> Callable[[Path], Server]:
    def start(workdir: Path) -> Server:
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "hypercorn",
            "--worker-class",
            "trio",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            f"bench.refapps.{app}:app",
        ]
        name = {"bare": "asgi", "quart_app": "quart"}[app] + (
            "" if workers == 1 else f"-w{workers}"
        )
        env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        return _launch(
            name,
            "reference",
            command,
            workdir,
            _endpoint(port),
            _any_answer,
            f"hypercorn {_python_version('hypercorn')}",
            env,
        )

    return start


def start_moto(workdir: Path) -> Server:
    version = _python_version("moto")
    try:
        _python_version("flask")
    except Absent as exc:
        raise Absent("moto's server mode needs moto[server] (flask)") from exc
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return _launch(
        "moto", "s3", command, workdir, _endpoint(port), _bucket_created, f"moto {version}"
    )


def weed_binary() -> Path:
    candidates = [
        os.environ.get("ZAS_BENCH_WEED"),
        str(CACHE / "bin" / "weed"),
        shutil.which("weed"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise Absent("weed not built: run bench/install-peers.sh (compiles SeaweedFS with go)")


def start_seaweedfs(workdir: Path) -> Server:
    weed = weed_binary()
    version = subprocess.run([weed, "version"], capture_output=True, text=True).stdout.strip()
    data = workdir / "seaweedfs"
    data.mkdir(exist_ok=True)
    config = workdir / "seaweedfs-s3.json"
    identity = {
        "name": "bench",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    # gRPC listens on port + 10000: pick ports below 55535 whose +10000 is free too.
    ports: list[int] = []
    while len(ports) < 4:
        port = free_port()
        if port < 55535 and port not in ports:
            try:
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + 10000))
                ports.append(port)
            except OSError:
                continue
    master, volume, filer, s3 = ports
    command = [
        str(weed),
        "server",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        "-filer",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.config={config}",
        "-volume.max=100",
        "-master.volumeSizeLimitMB=1024",
    ]
    return _launch(
        "seaweedfs",
        "s3",
        command,
        workdir,
        _endpoint(s3),
        _bucket_created,
        version.splitlines()[0] if version else "weed",
    )


def start_s3rver(workdir: Path) -> Server:
    binary = CACHE / "npm" / "node_modules" / ".bin" / "s3rver"
    if not binary.exists():
        found = shutil.which("s3rver")
        if found is None:
            raise Absent("s3rver not installed: run bench/install-peers.sh (npm)")
        binary = Path(found)
    package = binary.resolve().parent.parent / "package.json"
    version = json.loads(package.read_text())["version"] if package.exists() else "?"
    data = workdir / "s3rver"
    data.mkdir(exist_ok=True)
    port = free_port()
    command = [str(binary), "-d", str(data), "-a", "127.0.0.1", "-p", str(port), "--silent"]
    # s3rver accepts only its fixed credentials. Its continuation tokens use a cipher that
    # OpenSSL 3 only offers through the legacy provider.
    return _launch(
        "s3rver",
        "s3",
        command,
        workdir,
        _endpoint(port, "S3RVER", "S3RVER"),
        _bucket_created,
        f"s3rver {version}",
        {"NODE_OPTIONS": "--openssl-legacy-provider"},
    )


STARTERS: dict[str, Callable[[Path], Server]] = {
    **{name: _zas_variant(name) for name in ZAS_VARIANTS},
    "asgi": start_reference("bare", 1),
    "quart": start_reference("quart_app", 1),
    "asgi-w2": start_reference("bare", 2),
    "quart-w2": start_reference("quart_app", 2),
    "moto": start_moto,
    "seaweedfs": start_seaweedfs,
    "s3rver": start_s3rver,
}
