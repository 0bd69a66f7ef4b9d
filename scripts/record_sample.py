"""Record samples/mixpanel-sample.mitm: real Mixpanel SDK traffic captured by mitmdump.

Two "apps" (two Mixpanel projects) use the official `mixpanel` Python SDK through a real
`mitmdump -s addons/leakmap.py` in block mode: the proxy answers the tracker itself, so this
runs offline and nothing reaches Mixpanel. The values are invented, but the requests are
exactly what the SDK sends. Run: .venv/bin/python scripts/record_sample.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "samples" / "mixpanel-sample.mitm"


def start_mitmdump(confdir: Path, dump: Path, db: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mitmdump = Path(sys.executable).parent / "mitmdump"
    process = subprocess.Popen([str(mitmdump), "-q", "--listen-host", "127.0.0.1", "-p", str(port),
                                "--set", f"confdir={confdir}", "-s", str(ROOT / "addons" / "leakmap.py"),
                                "--set", "leakmap_block=true", "--set", f"leakmap_db={db}", "-w", str(dump)])
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if (confdir / "mitmproxy-ca-cert.pem").exists():
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("mitmdump did not start")


def notes_app(mixpanel) -> None:
    """A note-taking app that sends the user's email as a custom property."""
    mp = mixpanel.Mixpanel("3f9c2a7e51b04d88a1c6e0f2b7d4a913")
    user = "u-58213"
    mp.track(user, "App Open", {"user_email": "jane.doe@example.com", "notes_count": 12, "theme": "dark"})
    mp.track(user, "Note Created", {"note_title": "Doctor appointment", "words": 54})
    mp.people_set(user, {"$email": "jane.doe@example.com", "$name": "Jane Doe", "$phone": "+14155550123",
                         "plan": "premium"})


def fitness_app(mixpanel) -> None:
    """A fitness app that sends precise location with every workout, batched."""
    mp = mixpanel.Mixpanel("b61e0d2c9a8f4e3b8c7d6a5f4e3d2c1b", consumer=mixpanel.BufferedConsumer())
    user = "runner-jane@example.com"  # the app uses the email as distinct_id
    for n, (lat, lng) in enumerate([(52.5200, 13.4050), (52.5206, 13.4098), (52.5219, 13.4132)]):
        mp.track(user, "Workout Point", {"lat": lat, "lng": lng, "heart_rate": 131 + n, "advertising_id":
                                         "38400000-8cf0-11bd-b23e-10b96e40000d"})
    mp.group_set("team", "berlin-runners", {"members": 14})
    mp._consumer.flush()


def main() -> None:
    import mixpanel

    OUTPUT.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        confdir = Path(tmp) / "conf"
        process, port = start_mitmdump(confdir, OUTPUT, Path(tmp) / "sample.db")
        proxy = f"http://127.0.0.1:{port}"
        os.environ.update(HTTPS_PROXY=proxy, REQUESTS_CA_BUNDLE=str(confdir / "mitmproxy-ca-cert.pem"))
        try:
            notes_app(mixpanel)
            fitness_app(mixpanel)
        finally:
            process.terminate()
            process.wait(timeout=20)
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
