"""Record real SDK traffic for the accuracy benchmark (cached under out/recordings/).

Each module below is an end-to-end test that drives official SDKs through a real
`mitmdump -s addons/leakmap.py` in block mode (tracker requests answered by the proxy,
hosts without a rule by tests/support/answer_all.py): browser SDKs in confined headless
Chromium, Node SDKs and Python SDKs as child processes. recorder_plugin.py keeps each
test's dump, Chromium's HAR and the honey values; then mitmdump itself converts every dump
to mitmproxy's HAR (`--set hardump=`). Modules run one after another (one Chromium at a
time on a shared machine); a module whose recording exists is skipped unless forced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
RECORDINGS = HERE / "out" / "recordings"
MITMDUMP = Path(sys.executable).parent / "mitmdump"

# Test module → what it drives: 55 SDK packages of 39 companies (README.md here).
MODULES = {
    "test_python_sdk": "Python: mixpanel",
    "test_analytics_sdks": "Python: segment, amplitude, posthog, rudderstack, snowplow",
    "test_engagement_sdks": "Python: sentry-sdk, bugsnag; Node: @sentry/node",
    "test_thirdparty_sdks": "Python: rollbar, honeybadger, launchdarkly, customerio, raygun, keen, pybrake, devcycle",
    "test_node_sdks": "Node: mixpanel, segment, posthog, amplitude, rudderstack, snowplow",
    "test_node_tracker_sdks": "Node: hubspot, intercom, klaviyo, launchdarkly, optimizely, split, statsig",
    "test_node_engagement_sdks": "Node: onesignal",
    "test_social_sdks": "Node: facebook-nodejs-business-sdk",
    "test_browser_mixpanel": "Browser: mixpanel-browser",
    "test_browser_sdks": "Browser: posthog-js, amplitude, datadog rum+logs, bugsnag, countly",
    "test_browser_esm_sdks": "Browser: sentry, newrelic, braze",
    "test_browser_engagement_sdks": "Browser: clevertap, mparticle, iterable",
    "test_browser_tracker_sdks": "Browser: statsig, launchdarkly, optimizely, piano, pendo",
    "test_attribution_sdks": "Browser: adjust, branch, singular",
    "test_browser_adobe": "Browser: adobe alloy",
    "test_browser_replay_sdks": "Browser: clarity",
    "test_google_sdks": "Browser: firebase installations, remote config",
    "test_google_firebase_web": "Browser: firebase auth, app check, performance, analytics",
}


def recorded_modules() -> set[str]:
    """Modules with at least one recording on disk."""
    if not RECORDINGS.is_dir():
        return set()
    return {d.name.split(".", 1)[0] for d in RECORDINGS.iterdir() if any(d.glob("capture*.mitm"))}


def record(modules: list[str], force: bool = False, log=print) -> None:
    """Run each module's test with the recorder plugin, then write mitmproxy's HAR of each dump."""
    done = set() if force else recorded_modules()
    env = {**os.environ, "ACCURACY_RECORDINGS": str(RECORDINGS),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    for module in modules:
        if module in done:
            continue
        for old in RECORDINGS.glob(f"{module}.*") if RECORDINGS.is_dir() else ():
            shutil.rmtree(old)
        log(f"recording {module} ({MODULES.get(module, '')})")
        try:  # the test's own verdict does not matter here, only what it recorded
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "recorder_plugin", "-o", "addopts=",
                            "-p", "no:cacheprovider", f"tests/e2e/{module}.py"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
        except subprocess.TimeoutExpired:
            log(f"{module}: timed out after 15 minutes; its recordings so far are kept")
    write_mitmproxy_hars(force)


def write_mitmproxy_hars(force: bool = False) -> None:
    """mitmproxy's own HAR of each dump, written by mitmdump's savehar addon."""
    for dump in sorted(RECORDINGS.glob("*/capture*.mitm")):
        har = dump.with_suffix(".har")
        if har.exists() and not force and har.stat().st_mtime >= dump.stat().st_mtime:
            continue
        subprocess.run([str(MITMDUMP), "-n", "-q", "-r", str(dump), "--set", f"hardump={har}"],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    record(sys.argv[1:] or list(MODULES), force=True)
