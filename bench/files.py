"""File store benchmark (issue 3 acceptance): upload and download through the real HTTP stack.

Starts gunicorn against your own database (one gthread worker with 4 threads, as `make serve`
runs them; `--threads 1` for a sync worker; production settings, DEBUG off), uploads 10 MB
and 100 MB random files to `POST /api/files/` (streamed multipart body), downloads them from
`GET /api/files/{id}/content/`, checks the SHA-256 round trip, and prints MB/s and the
server worker's peak resident memory growth during each transfer (exact: the kernel's VmHWM
after resetting it through /proc/<pid>/clear_refs).

    PGURI=postgres://postgres@127.0.0.1:5432/acountee_files .venv/bin/python bench/files.py [--sizes 10 100]

Acceptance: 100 MB download RSS growth <= 32 MB, upload <= 64 MB, download >= 200 MB/s.
The database is migrated first; the benchmark's files are deleted at the end.
"""
# ruff: noqa: S603 - runs our own interpreter and gunicorn with fixed arguments

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MB = 1024 * 1024
BOUNDARY = "AcounteeBench" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(max_size_mb: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "acountee.settings",
            "ACOUNTEE_ENV": "production",
            "DEBUG": "false",
            "SECRET_KEY": env.get("SECRET_KEY") or "bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "AUDIT_CHAIN_KEY": env.get("AUDIT_CHAIN_KEY") or "bench-files-audit-chain-key-not-a-secret",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no TLS proxy in front
            "FILE_MAX_SIZE": str(max_size_mb * MB),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def _prepare(env: dict[str, str]) -> str:
    """Migrates and returns an API token for a finance user (in a child process, so this
    process stays small and Django-free)."""
    script = """
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import Role, User, UserRole
from accounts.services import api_token_create
user = User.objects.filter(email="bench-files@acountee.local").first()
if user is None:
    user = User.objects.create_user(email="bench-files@acountee.local", password=None, name="Bench")
    UserRole.objects.create(user=user, role=Role.objects.get(name="finance"))
print(api_token_create(user=user)[1])
"""
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def _count(env: dict[str, str]) -> int:
    script = "import django; django.setup()\nfrom files.models import StoredFile\nprint(StoredFile.objects.count())"
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def _cleanup(env: dict[str, str], ids: list[int]) -> None:
    script = f"""
import django; django.setup()
from files.models import StoredFile
from files.services import stored_file_delete
for file in StoredFile.objects.filter(pk__in={ids!r}):
    stored_file_delete(file=file, actor=None)
"""
    subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True)


class Worker:
    """The gunicorn worker process: baseline RSS, peak reset, and peak readout."""

    def __init__(self, master_pid: int):
        import psutil

        deadline = time.time() + 30
        while time.time() < deadline:
            children = psutil.Process(master_pid).children()
            if children:
                self.pid = children[0].pid
                return
            time.sleep(0.1)
        raise SystemExit("gunicorn worker did not start")

    def _status(self, key: str) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        raise KeyError(key)

    def reset_peak(self) -> int:
        with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM to the current RSS
        return self._status("VmRSS")

    def peak(self) -> int:
        return self._status("VmHWM")

    def cpu_seconds(self, dbname: str) -> dict[int, float]:
        """CPU time so far of the worker and of the PostgreSQL backends serving our database:
        the server's cost of a transfer, whatever else the machine is busy with."""
        import psutil

        times = {self.pid: sum(psutil.Process(self.pid).cpu_times()[:2])}
        for proc in psutil.process_iter(["cmdline"]):
            command = " ".join(proc.info["cmdline"] or [])
            if command.startswith("postgres:") and f" {dbname} " in command:
                try:
                    times[proc.pid] = sum(proc.cpu_times()[:2])
                except psutil.Error:
                    continue
        return times


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def _make_file(size_mb: int, directory: str) -> tuple[Path, str]:
    path = Path(directory) / f"bench-{size_mb}mb.bin"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        # A PDF header so the download path exercises inline disposition; random body.
        head = b"%PDF-1.7\n%bench " + uuid.uuid4().bytes + b"\n"
        out.write(head)
        digest.update(head)
        left = size_mb * MB - len(head)
        while left > 0:
            chunk = os.urandom(min(MB, left))
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return path, digest.hexdigest()


def upload(port: int, token: str, path: Path) -> tuple[dict, float]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.putrequest("POST", "/api/files/")
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as source:
        while chunk := source.read(MB):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if response.status not in (200, 201):
        raise SystemExit(f"upload failed: {response.status} {body[:500]!r}")
    return json.loads(body), elapsed


def download(port: int, token: str, file_id: int) -> tuple[str, int, float]:
    """Times the transfer only: bytes land in a preallocated buffer (the client's own hashing
    would compete with the server for the CPUs); the SHA-256 is computed after the clock stops."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", f"/api/files/{file_id}/content/", headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    if response.status != 200:
        raise SystemExit(f"download failed: {response.status} {response.read()[:500]!r}")
    buffer = bytearray(int(response.getheader("Content-Length")))
    view = memoryview(buffer)
    size = 0
    while size < len(buffer) and (got := response.readinto(view[size : size + MB])):
        size += got
    elapsed = time.perf_counter() - started
    trailing = response.read()  # must be empty: Content-Length was right
    conn.close()
    return hashlib.sha256(view[:size]).hexdigest(), size + len(trailing), elapsed


def cut_off_upload(port: int, token: str) -> int:
    """Sends half a body and closes the connection; returns how many files exist with the
    bench marker name afterwards (must be 0, checked by the caller through the API)."""
    body_head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="cut.bin"\r\n\r\n').encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        (
            "POST /api/files/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Token {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {len(body_head) + 4 * MB + 100}\r\n\r\n"
        ).encode()
        + body_head
        + os.urandom(2 * MB)
    )
    sock.shutdown(socket.SHUT_WR)
    reply = sock.recv(65536)
    sock.close()
    return int(reply.split(b" ", 2)[1]) if reply else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100], help="file sizes in MB")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads (1: sync worker; >1: gthread)")
    parser.add_argument("--downloads", type=int, default=5, help="downloads per file (best MB/s reported)")
    args = parser.parse_args()
    if not os.environ.get("PGURI"):
        sys.exit("Set PGURI to a database of your own, e.g. postgres://postgres@127.0.0.1:5432/acountee_files")

    dbname = urlparse(os.environ["PGURI"]).path.lstrip("/")
    env = _server_env(max(args.sizes) + 1)
    token = _prepare(env)
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "acountee.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            str(args.threads),
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    stored: list[int] = []
    try:
        worker = Worker(server.pid)
        with tempfile.TemporaryDirectory() as tmp:
            # Warm-up: imports, connection pool, first query plans.
            warm, warm_sha = _make_file(1, tmp)
            meta, _ = upload(port, token, warm)
            stored.append(meta["id"])
            assert download(port, token, meta["id"])[0] == warm_sha

            print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other work skews MB/s)")
            print(f"{'size':>6} {'op':>9} {'MB/s':>9} {'seconds':>8} {'RSS growth MB':>14}  sha256 ok")
            for size_mb in args.sizes:
                path, sha = _make_file(size_mb, tmp)
                base = worker.reset_peak()
                meta, elapsed = upload(port, token, path)
                growth = (worker.peak() - base) / MB
                stored.append(meta["id"])
                ok = meta["sha256"] == sha and meta["size"] == size_mb * MB
                print(f"{size_mb:>4}MB {'upload':>9} {size_mb / elapsed:>9.1f} {elapsed:>8.2f} {growth:>14.1f}  {ok}")
                speeds: list[float] = []
                per_cpu: list[float] = []
                for _ in range(args.downloads):
                    base = worker.reset_peak()
                    cpu_before = worker.cpu_seconds(dbname)
                    got_sha, got_size, elapsed = download(port, token, meta["id"])
                    cpu = _cpu_used(cpu_before, worker.cpu_seconds(dbname))
                    growth = (worker.peak() - base) / MB
                    ok = got_sha == sha and got_size == size_mb * MB
                    speeds.append(size_mb / elapsed)
                    per_cpu.append(size_mb / cpu if cpu else 0.0)
                    print(
                        f"{size_mb:>4}MB {'download':>9} {size_mb / elapsed:>9.1f} {elapsed:>8.2f} "
                        f"{growth:>14.1f}  {ok}   server CPU {cpu:.2f} s"
                    )
                speeds.sort()
                per_cpu.sort()
                print(
                    f"{size_mb:>4}MB download MB/s: median {speeds[len(speeds) // 2]:.1f}, best {speeds[-1]:.1f}; "
                    f"MB per server CPU second: median {per_cpu[len(per_cpu) // 2]:.0f}"
                )
                path.unlink()
            before = _count(env)
            status = cut_off_upload(port, token)
            after = _count(env)
            print(
                f"cut-off upload (half a body, then EOF): HTTP {status or 'connection closed'}, "
                f"rows before {before}, after {after}"
            )
        print(f"worker RSS now {worker._status('VmRSS') / MB:.1f} MB; load average after: {os.getloadavg()[0]:.2f}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if stored:
            _cleanup(env, stored)


if __name__ == "__main__":
    main()
