"""mitmproxy entry point: `mitmdump -s addons/leakmap.py` (or mitmweb, or mitmproxy).

Thin on purpose: everything lives in the leakmap package. Running from a checkout without
`pip install .` works too: the checkout root is put on the import path.
"""

import sys
from pathlib import Path

try:
    import leakmap  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from leakmap.addon import Leakmap  # noqa: E402
from leakmap.exposure import Exposure  # noqa: E402

addons = [Leakmap(), Exposure()]
