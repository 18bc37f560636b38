"""Know when a HeyGen video-translation job is done.

One shared scheduler thread polls any number of jobs, each at its own adaptive
interval, and resolves real :class:`concurrent.futures.Future` objects.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
