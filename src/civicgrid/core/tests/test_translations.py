"""The zh-hans translation is complete, compiled and served.

English is the source language and zh-hans the default: an untranslated string would show
English to a street office, so every msgid in the committed catalogue must be translated,
none fuzzy, its placeholders kept, the committed .mo in step with the .po, and no
translatable string in the source may be missing from the catalogue.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

from civicgrid.core.testing import INSIDE

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # src/civicgrid
LOCALE = "zh_Hans"
CATALOGUE_DIR = PACKAGE_DIR / "locale" / LOCALE / "LC_MESSAGES"
# Mirrors LOCALE_IGNORE in the Makefile's `messages` target (plus the vendored libraries),
# so this test never asks for a string that `make messages` would not extract.
IGNORED_NAMES = {
    "node_modules",
    "var",
    "staticfiles",
    "scripts",
    "bench",
    "screenshots",
    "media",
    "__pycache__",
    "locale",
}
SOURCE_SUFFIXES = {".py", ".html", ".txt", ".js"}
# %(name)s, %(n).1f, %s, %%: what a translation must carry over unchanged.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-z]|%[-#0 +]*\d*(?:\.\d+)?[sdfr]|%%")
BRACE = re.compile(r"\{\w*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def __str__(self) -> str:
        ctx = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"{ctx}{self.msgid!r}"


def read_po(path: Path) -> tuple[Entry, list[Entry]]:
    """The header and the live entries of a .po file (obsolete `#~` entries are left out).

    A small reader instead of a dependency: gettext writes one entry per blank-line block.
    """
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, current, obsolete = Entry(), None, False
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#~"):
                obsolete = True
            elif line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#") or not line:
                continue
            elif line.startswith('"'):
                text = ast.literal_eval(line)
                if current == "msgstr":
                    entry.msgstr[-1] += text
                else:
                    setattr(entry, current, getattr(entry, current) + text)
            else:
                keyword, _, rest = line.partition(" ")
                text = ast.literal_eval(rest)
                if keyword.startswith("msgstr"):
                    current = "msgstr"
                    entry.msgstr.append(text)
                else:
                    current = keyword
                    setattr(entry, keyword, text)
        if current is not None and not obsolete:
            entries.append(entry)
    header = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    return header, [e for e in entries if e is not header]


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text) + BRACE.findall(text))


def committed_catalogues() -> list[Path]:
    return sorted(CATALOGUE_DIR.glob("*.po"))


@pytest.fixture(params=[p.name for p in committed_catalogues()] or ["django.po"])
def catalogue(request) -> Path:
    path = CATALOGUE_DIR / request.param
    assert path.exists(), f"{path} is missing: run `make messages`"
    return path


def test_every_entry_in_the_committed_catalogue_is_translated_and_not_fuzzy(catalogue):
    header, entries = read_po(catalogue)

    untranslated = [str(e) for e in entries if not e.msgstr or not all(e.msgstr)]
    fuzzy = [str(e) for e in entries if "fuzzy" in e.flags]

    assert entries, f"{catalogue} holds no messages"
    assert not untranslated, f"untranslated in {catalogue.name}: {untranslated}"
    assert not fuzzy, f"fuzzy (check, then clear the flag) in {catalogue.name}: {fuzzy}"
    assert "fuzzy" not in header.flags, "the header is fuzzy: msgfmt would ignore its charset"
    assert "nplurals=1; plural=0;" in header.msgstr[0], "Chinese has a single plural form"


def test_translations_keep_every_placeholder(catalogue):
    _, entries = read_po(catalogue)

    broken = [
        f"{e}: {s!r}"
        for e in entries
        for s in e.msgstr
        if placeholders(s) != placeholders(e.msgid_plural or e.msgid)
    ]

    assert not broken, f"placeholders lost or added in {catalogue.name}: {broken}"


def test_the_committed_mo_matches_the_po(catalogue):
    # The app runs without gettext installed, from the committed .mo: a .po edited but not
    # compiled would silently serve the old text.
    mo = catalogue.with_suffix(".mo")
    assert mo.exists(), f"{mo.name} is missing: run compilemessages"
    _, entries = read_po(catalogue)
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)

    stale = []
    for e in entries:
        if e.msgid_plural is not None and e.msgctxt is not None:
            got = compiled.npgettext(e.msgctxt, e.msgid, e.msgid_plural, 1)
        elif e.msgid_plural is not None:
            got = compiled.ngettext(e.msgid, e.msgid_plural, 1)
        elif e.msgctxt is not None:
            got = compiled.pgettext(e.msgctxt, e.msgid)
        else:
            got = compiled.gettext(e.msgid)
        if got != e.msgstr[0]:
            stale.append(str(e))

    assert not stale, f"{mo.name} is out of date for: {stale}; run compilemessages"


def _copy_sources(dest: Path) -> None:
    for path in PACKAGE_DIR.rglob("*"):
        rel = path.relative_to(PACKAGE_DIR)
        if set(rel.parts) & IGNORED_NAMES or rel.parts[:2] == ("static", "vendor"):
            continue
        if path.is_file() and path.suffix in SOURCE_SUFFIXES:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_translatable_string_in_the_source_is_in_the_catalogue(
    domain, tmp_path, settings, monkeypatch
):
    for program in ("xgettext", "msguniq", "msgmerge"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (apt-get install gettext); CI installs it")
    # Extract from a copy, into a fresh locale dir: makemessages writes scratch files next to
    # the templates it reads and must not touch the committed catalogue.
    sources, scratch_locale = tmp_path / "src", tmp_path / "locale"
    _copy_sources(sources)
    settings.LOCALE_PATHS = [scratch_locale]
    monkeypatch.chdir(sources)
    call_command("makemessages", locale=[LOCALE], domain=domain, verbosity=0)

    extracted = scratch_locale / LOCALE / "LC_MESSAGES" / f"{domain}.po"
    wanted = {e.key: e for e in read_po(extracted)[1]} if extracted.exists() else {}
    committed = CATALOGUE_DIR / f"{domain}.po"
    have = {e.key for e in read_po(committed)[1]} if committed.exists() else set()
    missing = sorted(str(e) for key, e in wanted.items() if key not in have)

    assert not missing, (
        f"{len(missing)} string(s) are not in {committed.relative_to(PACKAGE_DIR)}: {missing}; "
        "run `make messages` and translate them"
    )


def test_a_page_is_in_chinese_by_default(client, db, chinese_default):
    response = client.get("/track/", {"number": "NO-SUCH-CASE"})

    assert response.status_code == 404
    assert "没有这个编号的案件" in response.content.decode()
    assert response.headers["Content-Language"] == "zh-hans"


def test_a_page_is_in_english_when_the_browser_asks_for_it(client, db):
    response = client.get("/track/", {"number": "NO-SUCH-CASE"}, HTTP_ACCEPT_LANGUAGE="en")

    body = response.content.decode()
    assert "No case has this number." in body
    assert "没有这个编号的案件" not in body


def test_the_language_cookie_wins_over_the_browser(client, db, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/track/", {"number": "NO-SUCH-CASE"}, HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert "No case has this number." in response.content.decode()


def _report_with_unknown_category(client, **headers):
    lon, lat = INSIDE["G1"]
    payload = {"category": "9999", "description": "井盖缺失", "lon": lon, "lat": lat}
    return client.post("/api/cases", payload, content_type="application/json", headers=headers)


def test_an_api_error_is_in_chinese_by_default(client, world, chinese_default):
    response = _report_with_unknown_category(client)

    assert response.status_code == 422
    assert response.json()["detail"] == "未知的案件类别“9999”。"


def test_an_api_error_is_in_english_with_accept_language_en(client, world):
    response = _report_with_unknown_category(client, accept_language="en")

    assert response.status_code == 422
    assert response.json()["detail"] == "Unknown category '9999'."
