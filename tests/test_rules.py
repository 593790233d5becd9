"""Rule files: the bundled ones load; every kind of mistake names file, key and problem."""

import shutil
from pathlib import Path

import pytest

from crawler.exceptions import NoMirror
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


# -- the mirrors of the issue: schemes, retirement, new sites --------------------------------

NEW_SITES = {
    "rferl": "rferl.org",
    "currenttime": "currenttime.tv",
    "radiofarda": "radiofarda.com",
    "krymr": "krymr.com",
    "idelreal": "idelreal.org",
    "severreal": "severreal.org",
    "sibreal": "sibreal.org",
    "azatliq": "azatliq.org",
    "europalibera": "europalibera.org",
    "radiomarsho": "radiomarsho.com",
    "kavkazr": "kavkazr.com",
    "svaboda": "svaboda.org",
    "voa": "voanews.com",
    "golosameriki": "golosameriki.com",
    "amerikaninsesi": "amerikaninsesi.org",
    "bellingcat": "bellingcat.com",
    "buzzfeednews": "buzzfeednews.com",
    "rfa": "rfa.org",
}
TAZ_V3 = "zervmwoc5flabhlh3heegnspbpoebbgr3kgkaarkpnz2gtsuunlxgqyd"
BELLINGCAT = "bellcatmbguthn3age23lrbseln2lryzv3mt7whis7ktjw4qrestbzad"
KRYMR = "krymr37vzmjc3lzijeokiaaa5scwqdveyeljh6eri4aqjqhkviv446id"
RETIRED_V2 = {
    "bbc": "s5rhoqqosmcispfb",
    "taz": "ibpj4qv7mufde33w",
    "buzzfeednews": "bfnews3u2ox4m4ty",
    "rfa": "rfa62zl6z6owmtlf",
}


def test_every_new_site_loads_with_checked_addresses_a_basis_and_a_source():
    rules = load_rules()
    for key, domain in NEW_SITES.items():
        site = rules.site(key)
        assert site.domains == (domain,)
        assert site.mirrors, key
    for mirror in rules.mirrors:
        assert is_valid_onion(mirror.onion), mirror  # the v3 checksum, as the loader checked it
        assert mirror.basis in ("stated", "label", "inferred"), mirror.host
        assert mirror.source, mirror.host
        assert "shared/reference" not in mirror.source + mirror.note + mirror.down_source
    for path in bundled_rules_dir().glob("*.toml"):
        assert "shared/reference" not in path.read_text(), path.name  # public sources only
    # Inferred canonical hosts stay marked as such.
    for key in ("rferl", "voa", "currenttime", "krymr", "golosameriki", "buzzfeednews"):
        assert {m.basis for m in rules.site(key).mirrors} == {"inferred"}, key
    assert rules.mirror_for_label(BELLINGCAT).basis == "stated"
    for key, onion in RETIRED_V2.items():
        mirror = rules.mirror_for_label(onion)
        assert mirror is not None and mirror.site == key and mirror.retired


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (f"https://ktat.{KRYMR}.onion/a/slug/32912345.html", "https://ktat.krymr.com/a/slug/32912345.html"),
        (f"https://ru.{KRYMR}.onion/", "https://ru.krymr.com/"),
        (f"https://ua.{KRYMR}.onion/", "https://ua.krymr.com/"),
        (
            "https://moldova.eurolibaoxh6xnxcms7egvag474qnjeca5m6rvomwhmmkw2jkascwhqd.onion/",
            "https://moldova.europalibera.org/",
        ),
        (
            "https://romania.eurolibaoxh6xnxcms7egvag474qnjeca5m6rvomwhmmkw2jkascwhqd.onion/",
            "https://romania.europalibera.org/",
        ),
        (f"http://{BELLINGCAT}.onion/news/2022/04/22/x/", "https://www.bellingcat.com/news/2022/04/22/x/"),
        (f"http://es.{BELLINGCAT}.onion/", "https://es.bellingcat.com/"),
        (f"http://ukraine.{BELLINGCAT}.onion/", "https://ukraine.bellingcat.com/"),
        (
            "https://gdb.rferlo2zxgv23tct66v45s5mecftol5vod3hf4rqbipfp46fqu2q56ad.onion/i.jpg",
            "https://gdb.rferl.org/i.jpg",
        ),
        ("https://www.voanews5aitmne6gs2btokcacixclgfl43cv27sirgbauyyjylwpdtqd.onion/", "https://www.voanews.com/"),
        ("https://www.s5rhoqqosmcispfb.onion/persian", "https://www.bbc.com/persian"),
        ("http://ibpj4qv7mufde33w.onion/!p4608;web/", "https://taz.de/!p4608;web/"),
        ("https://bfnews3u2ox4m4ty.onion/article/a/b", "https://www.buzzfeednews.com/article/a/b"),
        ("https://www.rfa62zl6z6owmtlf.onion/english/", "https://www.rfa.org/english/"),
    ],
)
def test_new_mirrors_map_label_by_label(url, canonical):
    from crawler.url import normalize_url

    assert normalize_url(url) == canonical


def test_lookalikes_of_every_onion_are_never_mapped():
    """One letter changed in any known onion (a v3 one fails its checksum; a v2 one is simply
    unknown): no mapping, no mirror, no fetch address."""
    from crawler.url import MirrorPlan, normalize_url
    from crawler.url.rewrite import rewrite_text

    rules = load_rules()
    for mirror in rules.mirrors:
        index = len(mirror.onion) // 2
        swapped = "b" if mirror.onion[index] == "a" else "a"
        lookalike = mirror.onion[:index] + swapped + mirror.onion[index + 1 :]
        assert rules.mirror_for_label(lookalike) is None, lookalike
        url = f"http://www.{lookalike}.onion/a"
        assert normalize_url(url) == url
        assert rewrite_text(f"<a href='{url}'>{lookalike}.onion</a>") == f"<a href='{url}'>{lookalike}.onion</a>"
        with pytest.raises(NoMirror, match="neither a known mirror"):
            MirrorPlan.from_start_urls([url])


def test_securedrop_and_certificate_log_onions_stay_out():
    text = "".join(path.read_text() for path in bundled_rules_dir().glob("*.toml"))
    rules = load_rules()
    for onion in (
        "ej3kv4ebuugcmuwxctx5ic7zxh73rnxt42soi3tdneu2c2em55thufqd",
        "nyt2sl3njavkomjxqe2e5nz6bsqv56yqbwkvhpmfn5jwh4pyccmjibad",
    ):
        assert rules.mirror_for_label(onion) is None
        assert f'onion = "{onion}"' not in text


def test_an_http_mirror_is_fetched_over_http_and_maps_back_from_either_scheme():
    from crawler.url import MirrorPlan, fetch_url, normalize_url
    from crawler.url.rewrite import rewrite_text

    rules = load_rules()
    taz = rules.mirror_for_label(TAZ_V3)
    assert taz.scheme == "http" and rules.mirror_for_label(BELLINGCAT).scheme == "http"
    assert rules.mirror_for_label(V3).scheme == "https"  # the default
    assert fetch_url("https://taz.de/Slug/!6012345/?utm_source=x", TAZ_V3) == f"http://{TAZ_V3}.onion/Slug/!6012345/"
    assert fetch_url("https://taz.de/", TAZ_V3, "https") == f"https://{TAZ_V3}.onion/"  # a scheme asked for wins
    assert fetch_url("https://www.bellingcat.com/news/2022/04/22/x/", BELLINGCAT) == (
        f"http://{BELLINGCAT}.onion/news/2022/04/22/x/"
    )
    assert fetch_url("https://fr.bellingcat.com/", BELLINGCAT) == f"http://fr.{BELLINGCAT}.onion/"
    assert fetch_url("https://bellingcat.com/", BELLINGCAT) is None  # no onion name serves the bare domain
    for scheme in ("http", "https"):
        assert normalize_url(f"{scheme}://{TAZ_V3}.onion/!6012345/") == "https://taz.de/!6012345/"
        assert normalize_url(f"{scheme}://{BELLINGCAT}.onion/") == "https://www.bellingcat.com/"
        assert rewrite_text(f'<a href="{scheme}://{TAZ_V3}.onion/!1/">') == '<a href="https://taz.de/!1/">'
    # The bare onion named outside a URL is its own host; a label keeps the label.
    assert rewrite_text(f"{BELLINGCAT}.onion, //es.{BELLINGCAT}.onion/x") == (
        "www.bellingcat.com, //es.bellingcat.com/x"
    )
    for start, scheme in (
        ("https://taz.de/", "http"),
        ("https://www.bellingcat.com/", "http"),
        (CANONICAL_NYT, "https"),
    ):
        plan = MirrorPlan.from_start_urls([start])
        [choice] = plan.choices.values()
        assert choice.scheme == scheme, start
        assert plan.fetch_address(start).startswith(f"{scheme}://")
    # A mirror URL keeps the scheme it is written with.
    [choice] = MirrorPlan.from_start_urls([f"http://{V3}.onion/"]).choices.values()
    assert choice.scheme == "http"


CANONICAL_NYT = "https://www.nytimes.com/2016/12/05/world/a.html"


def test_a_retired_mirror_is_never_chosen_and_its_links_still_map():
    from crawler.url import MirrorPlan, normalize_url

    rules = load_rules()
    retired = [m for m in rules.mirrors if m.retired]
    assert {m.onion for m in retired} >= set(RETIRED_V2.values()) | {"nytimes3xbfgragh", "graylady3jvrrxbe"}
    assert all(m.version == 2 for m in retired)  # v3 mirrors are down at worst: none was declared gone
    for key in ("nytimes", "propublica", "intercept"):  # "down since", not retired
        [v3] = [m for m in rules.site(key).mirrors if m.version == 3]
        assert not v3.retired and v3.down_since and v3.down_source and v3.state == f"down since {v3.down_since}"
    for site in rules.sites:
        for mirror in site.live_mirrors:
            plan = MirrorPlan.from_start_urls([f"https://{mirror.canonical_host('')}/"])
            assert not plan.choices[site.key].mirror.retired
    assert normalize_url("http://www.nytimes3xbfgragh.onion/2016/12/05/world/a.html?smid=x") == CANONICAL_NYT
    plan = MirrorPlan.from_start_urls([CANONICAL_NYT])
    assert plan.fetch_address(f"http://www.nytimes3xbfgragh.onion{CANONICAL_NYT[23:]}") == (
        f"https://www.{V3}.onion/2016/12/05/world/a.html"
    )


def test_a_start_url_on_a_retired_mirror_says_why_and_where_to_go():
    from crawler.url import MirrorPlan

    with pytest.raises(NoMirror) as info:
        MirrorPlan.from_start_urls(["http://ibpj4qv7mufde33w.onion/!6012345/"])
    message = str(info.value)
    assert "ibpj4qv7mufde33w.onion is a retired mirror of taz" in message
    assert "retired 2021-10-15" in message and "blog.torproject.org" in message
    assert f"http://{TAZ_V3}.onion/!6012345/" in message  # the live mirror, over the scheme it serves
    assert "https://taz.de/!6012345/" in message  # its links still map
    with pytest.raises(NoMirror, match=r"BuzzFeed News has no live mirror"):
        MirrorPlan.from_start_urls(["https://bfnews3u2ox4m4ty.onion/"])
    with pytest.raises(NoMirror, match=r"every known mirror of BuzzFeed News .* is retired"):
        MirrorPlan.from_start_urls(["https://www.buzzfeednews.com/"])
    with pytest.raises(NoMirror, match=r"down since 2025-03-05"):  # a live mirror that is down is still named
        MirrorPlan.from_start_urls(["http://www.nytimes3xbfgragh.onion/"])


RETIRING_SITE = f"""
[site]
name = "Example News"
domains = ["example.com"]
scheme = "https"

[[mirrors]]
onion = "{V3}"
domain = "example.com"
retired = "2024-05-01"
retired_source = "https://example.com/onion-closed"

[[mirrors]]
onion = "{OTHER_V3}"
domain = "example.com"
scheme = "http"
down_since = "2026-01-02"
down_source = "a public checker"

[[mirrors]]
onion = "27m3p2uv7igmj6kvd4ql3cct5h3sdwrsajovkkndeufumzyfhlfev4qd"
domain = "example.com"

[tracking]
params = []

[articles]
patterns = ['^/story/']
"""


def test_a_v3_mirror_declared_gone(rules_dir):
    from crawler.url import MirrorPlan
    from crawler.url.normalize import Normalizer

    write(rules_dir, "example.toml", RETIRING_SITE)
    rules = load_rules(rules_dir)
    normalizer = Normalizer(rules)
    gone, down, live = rules.site("example").mirrors
    assert gone.retired and gone.retirement == "retired 2024-05-01 (https://example.com/onion-closed)"
    assert (down.retired, down.state, live.state) == (False, "down since 2026-01-02", "live")
    assert normalizer.normalize(f"https://www.{V3}.onion/story/1") == "https://www.example.com/story/1"
    # A canonical start URL: the newest live mirror the checks reach, over its scheme.
    plan = MirrorPlan.from_start_urls(["https://www.example.com/"], normalizer)
    assert plan.choices["example"].mirror == live
    with pytest.raises(NoMirror) as info:
        MirrorPlan.from_start_urls([f"https://www.{V3}.onion/story/1"], normalizer)
    message = str(info.value)
    assert f"{V3}.onion is a retired mirror of Example News, retired 2024-05-01 (https://example.com/onion-closed)" in (
        message
    )
    assert f"http://www.{OTHER_V3}.onion/story/1 (down since 2026-01-02)" in message
    assert f"https://www.{live.host}/story/1" in message


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (lambda t: t.replace('note = "test"', 'scheme = "ftp"'), "mirrors[0].scheme", "not http or https"),
        (lambda t: t.replace('note = "test"', 'basis = "rumour"'), "mirrors[0].basis", "not one of stated"),
        (lambda t: t.replace('note = "test"', 'retired = "2024-01-01"'), "mirrors[0].retired_source", "go together"),
        (lambda t: t.replace('note = "test"', 'retired_source = "x"'), "mirrors[0].retired", "go together"),
        (
            lambda t: t.replace('note = "test"', 'retired = "2024-13-01"\nretired_source = "x"'),
            "mirrors[0].retired",
            "YYYY-MM-DD",
        ),
        (
            lambda t: t.replace('note = "test"', 'retired = 2024-01-01\nretired_source = "x"'),
            "mirrors[0].retired",
            "must be a str",
        ),
        (
            lambda t: t.replace('note = "test"', 'down_since = "2024-01"\ndown_source = "x"'),
            "mirrors[0].down_since",
            "YYYY-MM-DD",
        ),
        (
            lambda t: t.replace(
                'note = "test"',
                'retired = "2024-01-01"\nretired_source = "x"\ndown_since = "2024-01-01"\ndown_source = "x"',
            ),
            "mirrors[0].down_since",
            "never fetched or checked",
        ),
        (lambda t: t.replace('note = "test"', 'bare_host = "www.example.org"'), "mirrors[0].bare_host", "subdomain"),
    ],
)
def test_bad_mirror_entries_name_file_key_and_problem(rules_dir, edit, key, problem):
    path = write(rules_dir, "example.toml", edit(GOOD_SITE.format(onion=V3)))
    with pytest.raises(RuleError) as info:
        load_rules(rules_dir)
    assert (info.value.path, info.value.key) == (str(path), key)
    assert problem in info.value.problem


def test_a_v2_mirror_is_retired_without_saying(rules_dir):
    write(rules_dir, "example.toml", GOOD_SITE.format(onion="nytimes3xbfgragh"))
    [mirror] = load_rules(rules_dir).site("example").mirrors
    assert mirror.retired and mirror.retired_date == "2021-10-15"
    text = GOOD_SITE.format(onion="nytimes3xbfgragh").replace(
        'note = "test"', 'down_since = "2021-01-01"\ndown_source = "x"'
    )
    other = rules_dir / "other"
    other.mkdir()
    shutil.copy(rules_dir / "global.toml", other / "global.toml")
    write(other, "example.toml", text)
    with pytest.raises(RuleError, match="never fetched or checked"):
        load_rules(other)


def test_new_article_patterns():
    rules = load_rules()
    for key in ("rferl", "voa", "currenttime", "krymr", "radiofarda"):
        site = rules.site(key)
        assert site.is_article_path("/a/ukraine-russia-war/32912345.html"), key
        assert site.is_article_path("/a/27812345.html"), key
        assert not site.is_article_path("/z/17000"), key
    bellingcat = rules.site("bellingcat")
    assert bellingcat.is_article_path("/news/2022/04/22/how-to-beat-russias-block-on-bellingcat/")
    assert bellingcat.is_article_path("/news/uk-and-europe/2018/10/09/full-report-skripal-poisoning-suspect/")
    assert bellingcat.is_article_path("/resources/2022/04/22/how-to-beat-russias-block-on-bellingcat/")
    assert not bellingcat.is_article_path("/news/") and not bellingcat.is_article_path("/")
    assert rules.site("taz").is_article_path("/Some-Slug/!6012345/")
    assert not rules.site("taz").is_article_path("/!p4608;web/")
    assert rules.site("rfa").is_article_path("/english/news/china/some-story-04172020105949.html")
    assert rules.site("buzzfeednews").is_article_path("/article/janedoe/some-story")
