"""Crawl Tor onion mirrors of news sites; know every page by its canonical URL.

The public API for other tools:

- :func:`crawler.normalize.normalize_url`, :func:`crawler.normalize.explain_url`,
  :func:`crawler.normalize.fetch_url`: a URL's canonical identity and its fetch address;
- :func:`crawler.rewrite.rewrite_text`: every URL in a document in canonical form;
- :func:`crawler.rules.load_rules`: the rules (``rules/``), validated.
"""

__version__ = "0.1.0"
