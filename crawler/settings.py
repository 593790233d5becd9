"""Scrapy settings for crawling onion mirrors through Tor.

Defaults suit Tor: modest concurrency, generous timeouts, retries, AutoThrottle.
Every one can be overridden with ``-s NAME=VALUE``.
"""

import os

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# Privacy: no remote control server and no telnet console listening on this machine.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False

# Rules (rules/ folder); None means the bundled rules.
RULES_DIR = os.environ.get("RULES_DIR") or None
