"""Rule files: the bundled ones load; every kind of mistake names file, key and problem."""

import shutil
from pathlib import Path

import pytest

from crawler.url.onion import is_valid_onion
from crawler.url.rules import RuleError, bundled_rules_dir, load_rules

GOOD_SITE = """
[site]
name = "Example News"
domains = ["example.com"]
scheme = "https"

[[mirrors]]
onion = "{onion}"
domain = "example.com"
note = "test"

[tracking]
params = ["ref"]

[articles]
patterns = ['^/story/']
"""
V3 = "nytimesn7cgmftshazwhfgzm37qxb44r64ytbb2dj3x62d2lljsciiyd"
OTHER_V3 = "p53lf57qovyuvwsc6xnrppyply3vtqm7l6pcobkmyqsiofyeznfu5uqd"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    shutil.copy(bundled_rules_dir() / "global.toml", tmp_path / "global.toml")
    return tmp_path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_bundled_rules_load_and_are_valid():
    rules = load_rules()
    assert {"nytimes", "bbc", "dw", "propublica", "guardian"} <= {s.key for s in rules.sites}
    for mirror in rules.mirrors:
        assert is_valid_onion(mirror.onion), mirror
    nyt = rules.site("nytimes")
    assert {m.onion for m in nyt.mirrors} == {"nytimes3xbfgragh", "graylady3jvrrxbe", V3}
    assert rules.mirror_for_label("graylady3jvrrxbe").domain == "nyt.com"
    assert "rref" in nyt.tracking.names and "contentPlacement" in nyt.tracking.names
    assert rules.global_tracking.matches("utm_source") == "utm_*"
    assert rules.global_tracking.matches("ref") is None  # meaning-bearing: never global


def test_never_mapped_onions_are_absent():
    rules = load_rules()
    for onion in (
        "ej3kv4ebuugcmuwxctx5ic7zxh73rnxt42soi3tdneu2c2em55thufqd",  # NYT SecureDrop
        "nyt2sl3njavkomjxqe2e5nz6bsqv56yqbwkvhpmfn5jwh4pyccmjibad",  # certificate logs only
    ):
        assert rules.mirror_for_label(onion) is None


def test_article_patterns():
    nyt = load_rules().site("nytimes")
    assert nyt.is_article_path("/2016/12/05/world/middleeast/russia-lavrov-kerry-aleppo-rebels.html")
    assert nyt.is_article_path("/video/world/100000004788877/aleppo.html")
    assert not nyt.is_article_path("/section/world")
    assert not nyt.is_article_path("/by/jane-doe")


def test_rules_dir_setting_points_elsewhere(rules_dir):
    write(rules_dir, "example.toml", GOOD_SITE.format(onion=V3))
    rules = load_rules(rules_dir)
    assert [s.key for s in rules.sites] == ["example"]
    assert rules.mirror_for_label(V3).domain == "example.com"


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (lambda t: t.replace('name = "Example News"', 'name = "X"\ncolour = "red"'), "site.colour", "unknown key"),
        (lambda t: t.replace('scheme = "https"', "scheme = 443"), "site.scheme", "must be a str"),
        (lambda t: t.replace('scheme = "https"', 'scheme = "ftp"'), "site.scheme", "not http or https"),
        (lambda t: t.replace(V3, V3[:-1] + "a"), "mirrors[0].onion", "v3"),
        (lambda t: t.replace(V3, "nytimes3xbfgrag"), "mirrors[0].onion", "16 (v2) or 56 (v3)"),
        (lambda t: t.replace('domains = ["example.com"]', 'domains = ["co.uk"]'), "site.domains", "registrable"),
        (lambda t: t.replace('["example.com"]', '["www.example.com"]'), "site.domains", "registrable"),
        (lambda t: t.replace('domain = "example.com"', 'domain = "evil.com"'), "mirrors[0].domain", "not one of"),
        (lambda t: t.replace('params = ["ref"]', "params = [1]"), "tracking.params", "list of strings"),
        (lambda t: t.replace("'^/story/'", "'(unclosed'"), "articles.patterns", "bad regular expression"),
        (lambda t: t.replace("[articles]\npatterns = ['^/story/']", ""), "articles", "missing"),
        (lambda t: t + "\n[[[broken", "(syntax)", ""),
        (lambda t: t + "\n[recrawl]\nschedule = ['1d:1h', '7d']", "recrawl.schedule", "AGE:INTERVAL"),
        (lambda t: t + "\n[recrawl]\nschedule = ['7d:1h', '1d:1h']", "recrawl.schedule", "must rise"),
        (lambda t: t + "\n[recrawl]\nschedule = ['1d:0h']", "recrawl.schedule", "longer than zero"),
        (lambda t: t + "\n[recrawl]\nschedule = ['1w:1h']", "recrawl.schedule", "not a span"),
        (lambda t: t + "\n[recrawl]\nhubs = ['(unclosed']", "recrawl.hubs", "bad regular expression"),
        (lambda t: t + "\n[recrawl]\nevery = '1h'", "recrawl.every", "unknown key"),
        (
            lambda t: t.replace("patterns = ['^/story/']", "patterns = ['^/story/']\nupdated_selector = 'p[['"),
            "articles.updated_selector",
            "not a CSS selector",
        ),
        (
            lambda t: t.replace('params = ["ref"]', 'params = ["ref"]\nkeep = ["ref"]'),
            "tracking.keep",
            "this file strips",
        ),
        (
            lambda t: t.replace('params = ["ref"]', 'params = ["ref"]\nkeep = ["utm_source"]'),
            "tracking.keep",
            "global.toml strips it (utm_*)",
        ),
    ],
)
def test_bad_rule_file_names_file_key_and_problem(rules_dir, edit, key, problem):
    path = write(rules_dir, "example.toml", edit(GOOD_SITE.format(onion=V3)))
    with pytest.raises(RuleError) as info:
        load_rules(rules_dir)
    assert info.value.path == str(path)
    assert info.value.key == key
    assert problem in info.value.problem
    assert str(path) in str(info.value) and key in str(info.value)


def test_same_onion_in_two_files(rules_dir):
    write(rules_dir, "a.toml", GOOD_SITE.format(onion=V3))
    second = GOOD_SITE.format(onion=V3).replace("example.com", "example.org")
    write(rules_dir, "b.toml", second)
    with pytest.raises(RuleError, match=r"b\.toml: mirrors\.onion: .* already a mirror in .*a\.toml"):
        load_rules(rules_dir)


def test_missing_global_file(tmp_path):
    write(tmp_path, "a.toml", GOOD_SITE.format(onion=OTHER_V3))
    with pytest.raises(RuleError, match="global.toml"):
        load_rules(tmp_path)


def test_bad_global_file(rules_dir):
    write(rules_dir, "global.toml", "[tracking]\nparams = ['a']\nprefix = ['b']\n")
    with pytest.raises(RuleError, match=r"global\.toml: tracking\.prefix: unknown key"):
        load_rules(rules_dir)


def test_nyt_article_shapes_of_today():
    nyt = load_rules().site("nytimes")
    assert nyt.is_article_path("/live/2024/11/05/us/election-results")
    assert nyt.is_article_path("/athletic/5934567/2024/11/25/some-story/")
    assert nyt.is_article_path("/interactive/2024/11/05/us/elections/results-president.html")
    assert not nyt.is_article_path("/athletic/")


def test_tracking_names_match_in_the_case_their_lists_match():
    rules = load_rules()
    tracking = rules.global_tracking
    # ClearURLs (any case): utm_*, fbclid...
    assert tracking.matches("UTM_SOURCE") == "utm_* (any case)"
    assert tracking.matches("Utm_Medium") == "utm_* (any case)"
    assert tracking.matches("FBCLID") == "fbclid (any case)"
    assert tracking.matches("fbclid") == "fbclid"
    # AdGuard and Brave only (exact case)
    assert tracking.matches("msclkid") == "msclkid" and tracking.matches("MSCLKID") is None
    assert tracking.matches("hsCtaTracking") == "hsCtaTracking" and tracking.matches("hsctatracking") is None
    # ASCII case only: no Unicode folding ("ſ" is not "s")
    assert tracking.matches("utm_ſource") == "utm_*" and tracking.matches("UTM_\u017fOURCE") == "utm_* (any case)"
    assert tracking.matches("fbclıd") is None
    guardian = rules.site("guardian").tracking
    assert guardian.matches("INTCMP") == "INTCMP" and guardian.matches("intcmp") is None


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (
            lambda t: t.replace('params = ["ref"]', 'params = ["ref"]\nparams_any_case = ["Ref2"]'),
            "tracking.params_any_case",
            "ASCII lower case",
        ),
        (
            lambda t: t.replace('params = ["ref"]', 'params = ["ref"]\nparams_any_case = ["ref"]'),
            "tracking.params_any_case",
            "also in tracking.params",
        ),
        (
            lambda t: t.replace('params = ["ref"]', 'params = ["ref"]\nprefixes_any_case = ["a&b"]'),
            "tracking.prefixes_any_case",
            "not a parameter name",
        ),
        (
            lambda t: t.replace('params = ["ref"]', 'params = ["ref"]\nkeep = ["UTM_X"]'),
            "tracking.keep",
            "global.toml strips it (utm_* (any case))",
        ),
    ],
)
def test_bad_any_case_rules_name_file_key_and_problem(rules_dir, edit, key, problem):
    path = write(rules_dir, "example.toml", edit(GOOD_SITE.format(onion=V3)))
    with pytest.raises(RuleError) as info:
        load_rules(rules_dir)
    assert (info.value.path, info.value.key) == (str(path), key)
    assert problem in info.value.problem


def test_recrawl_rules_hubs_and_schedule(rules_dir):
    from datetime import timedelta

    text = GOOD_SITE.format(onion=V3) + "\n[recrawl]\nhubs = ['^/$', '^/section/']\nschedule = ['2d:2h', '30d:1d']\n"
    write(rules_dir, "example.toml", text)
    [site] = load_rules(rules_dir).sites
    assert site.is_hub_path("/") and site.is_hub_path("/section/world")
    assert not site.is_hub_path("/about") and not site.is_hub_path("/story/a")
    assert site.schedule is not None and site.schedule.interval(timedelta(days=1)) == timedelta(hours=2)
    plain = rules_dir / "plain"  # rules are loaded once per folder
    plain.mkdir()
    shutil.copy(rules_dir / "global.toml", plain / "global.toml")
    write(plain, "example.toml", GOOD_SITE.format(onion=V3))
    [default] = load_rules(plain).sites
    assert default.schedule is None  # RECRAWL_SCHEDULE, or the default
    assert default.is_hub_path("/about") and not default.is_hub_path("/story/a")  # every non-article page
