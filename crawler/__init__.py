"""Crawl Tor onion mirrors of news sites; know every page by its canonical URL.

The public API for other tools:

- :func:`crawler.url.normalize.normalize_url`, :func:`crawler.url.normalize.explain_url`,
  :func:`crawler.url.normalize.fetch_url`: a URL's canonical identity and its fetch address;
- :func:`crawler.url.rewrite.rewrite_text`: every URL in a document in canonical form;
- :func:`crawler.url.rules.load_rules`: the rules (``rules/``), validated.
"""

__version__ = "0.1.0"
