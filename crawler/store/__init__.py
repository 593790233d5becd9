"""The crawl store: one SQLite file, its schema and every query on it.

* :mod:`.database` -- :class:`Store`: pages, links and aliases, keyed by canonical URL;
* :mod:`.writer` -- :class:`~crawler.store.writer.StoreWriter`: group commit for the crawl;
* :mod:`.merge` -- several workers' stores into one;
* :mod:`.graph` -- the link graph exports (node-link JSON, CSV, GraphML, GEXF);
* :mod:`.summary` -- what a store holds, in figures.
"""

from crawler.exceptions import StoreError
from crawler.store.database import (
    DEFAULT_PATH,
    PAGE_COLUMNS,
    SCHEMA_VERSION,
    Store,
    store_path,
)
from crawler.transient import TRANSIENT_STATUSES, is_transient

__all__ = [
    "DEFAULT_PATH",
    "PAGE_COLUMNS",
    "SCHEMA_VERSION",
    "TRANSIENT_STATUSES",
    "Store",
    "StoreError",
    "is_transient",
    "store_path",
]
