"""Sphinx configuration: the documentation site of onion-news-crawler.

Built as Scrapy and w3lib build theirs (Sphinx, autodoc), with the pages kept in Markdown
through MyST-Parser (https://myst-parser.readthedocs.io/). Build it with::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Nothing in the built site loads anything from the network: no intersphinx (it would fetch
other projects' inventories at build time), and the theme (Furo, https://pradyunsg.me/furo/)
ships its fonts and scripts with the site. ``tests/test_docs.py`` checks both.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # autodoc imports crawler.url from this checkout, installed or not

project = "onion-news-crawler"
author = "onion-news-crawler contributors"
copyright = "onion-news-crawler contributors"  # noqa: A001 - Sphinx's own name for it
try:
    release = metadata.version("onion-news-crawler")
except metadata.PackageNotFoundError:  # a checkout that was never installed
    release = ""
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# MyST: ```{directive} fences, and anchors for headings so that page.md#section links resolve.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# autodoc: the signatures carry the types; members in source order, as the modules tell them.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"

html_theme = "furo"
html_title = "onion-news-crawler"
html_static_path: list[str] = []
html_show_sourcelink = False
