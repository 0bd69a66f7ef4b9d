"""leakmap: what apps and websites leak to analytics and advertising trackers."""

__version__ = "0.1.0"
