"""watcher: follow an evolving number in the news.

The pipeline, one module per stage (see README "How it works"):
fetch feeds → parse entries → match topics → extract figures → compare with the
known history → queue changes (outbox) → render digests → deliver.
"""

__version__ = "0.1.0"
