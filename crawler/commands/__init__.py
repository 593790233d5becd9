"""Scrapy commands of the project: ``scrapy normalize`` and friends."""
