"""The URL core: rules, onion addresses, a URL's canonical identity and its fetch address on a
mirror, rewriting documents. No Scrapy here: the crawl builds on it, and so can any other tool.

* :mod:`.rules` -- the rules (``rules/``) as data, loaded and validated;
* :mod:`.onion` -- onion address checks (v2, v3 with its checksum);
* :mod:`.normalize` -- :func:`normalize_url`, :func:`explain_url`, :func:`fetch_url`;
* :mod:`.rewrite` -- :func:`rewrite_text`: every URL in a document in canonical form;
* :mod:`.scan` -- finding URLs, attribute values and onion names in text;
* :mod:`.plan` -- :class:`MirrorPlan`: the mirror a crawl fetches each site on.

>>> from crawler.url import normalize_url
>>> normalize_url("http://www.nytimes3xbfgragh.onion/2016/a.html?smid=tw-share")
'https://www.nytimes.com/2016/a.html'
"""

from crawler.url.normalize import InvalidUrl, Normalizer, explain_url, fetch_url, normalize_url
from crawler.url.plan import MirrorPlan
from crawler.url.rewrite import Rewriter, rewrite_text
from crawler.url.rules import RuleError, Rules, load_rules

__all__ = [
    "InvalidUrl",
    "MirrorPlan",
    "Normalizer",
    "Rewriter",
    "RuleError",
    "Rules",
    "explain_url",
    "fetch_url",
    "load_rules",
    "normalize_url",
    "rewrite_text",
]
