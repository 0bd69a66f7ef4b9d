"""mitmproxy entry point: `mitmdump -s "$(leakmap addon-path)"` (or mitmweb, or mitmproxy).

Thin on purpose: everything lives in the leakmap package. mitmproxy puts this script's folder
first on the import path, where this file, named leakmap.py, would shadow the package
(`'leakmap' is not a package`): the folder is taken off the path before importing. Running
from a checkout without `pip install .` works too: the checkout root is put on the path.
"""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

try:
    import leakmap  # noqa: F401
except ImportError:
    sys.path.insert(0, str(_HERE.parent))

from leakmap.addon import Leakmap  # noqa: E402
from leakmap.exposure import Exposure  # noqa: E402
from leakmap.websocket import WebSocketLeakmap  # noqa: E402

addons = [Leakmap(), Exposure(), WebSocketLeakmap()]
