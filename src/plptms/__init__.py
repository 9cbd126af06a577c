"""plptms: precision rTMS for phantom limb pain.

Research software, not a certified medical device.
"""

from ._version import __version__

__all__ = ["__version__"]
