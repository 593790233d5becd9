"""``onion-crawler``: the project's scrapy commands, from any folder.

``scrapy crawl`` needs a Scrapy project: inside this checkout ``scrapy.cfg`` names
``crawler.settings``; anywhere else, Scrapy's own ``SCRAPY_SETTINGS_MODULE=crawler.settings``
does. ``onion-crawler`` sets that for you (unless it is set already) and runs scrapy::

    onion-crawler crawl mirror -a start_urls=https://www.nytimesn7...onion/ -s JOBDIR=job
    onion-crawler demo
    onion-crawler graph -o graph.json
"""

from __future__ import annotations

import os
import sys

SETTINGS_MODULE = "crawler.settings"


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    from scrapy.cmdline import execute

    execute(["onion-crawler", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
