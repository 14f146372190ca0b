"""Document parsers on real files generated on the fly: structure, offsets, and clear refusals."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from petitrag.chunking import Chunker
from petitrag.documents import SUPPORTED_EXTENSIONS, ParsedDocument, parse_bytes, parser_for
from petitrag.documents.html_markup import code_in_bare_pre, without_templates
from petitrag.documents.pdf import hyphenated_words, page_blocks
from petitrag.errors import DocumentError, UnsupportedFormatError
from petitrag.language import words

MARKDOWN = """---
title: Front matter title
author: Camille
---

# Guide du potager

Le potager demande un arrosage régulier, surtout en été.

## Semis

- Semer les tomates en mars.
- Repiquer en mai,
  après les gelées.
- Récolter en août.

### Calendrier

| Légume | Semis | Récolte |
|--------|-------|---------|
| Tomate | mars  | août    |
| Radis  | avril | mai     |

```python
arrosage = "matin"
```

Conclusion du guide.
"""

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Le compost maison</title></head>
<body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/boutique">Boutique</a></li>
<li><a href="/connexion">Connexion</a></li></ul></nav>
<main><article>
<h1>Le compost maison</h1>
<p>Le compost transforme les épluchures et les déchets du jardin en un amendement sombre et friable.
Un tas bien entretenu est prêt en trois à six mois ; un tas négligé peut demander plus d'un an.</p>
<h2>Les bons mélanges</h2>
<p>Un tas sain mélange environ trois parts de matières brunes (feuilles sèches, carton, paille)
pour une part de matières vertes (épluchures, marc de café, tontes de gazon fraîches).</p>
<table>
<tr><th>Matière</th><th>Type</th></tr>
<tr><td>Feuilles sèches</td><td>brune</td></tr>
<tr><td>Marc de café</td><td>verte</td></tr>
</table>
<p>Retournez le tas toutes les deux ou trois semaines pour apporter de l'air aux micro-organismes.</p>
</article></main>
<footer><p>© Jardins Unis. Mentions légales · Cookies · Contact</p></footer>
</body></html>
"""

PAGE_TEXT = "Page {n} : le jardinier prépare la terre avec soin. " * 6


def write_pdf(path: Path, pages: list[str], sections: list[str] | None = None) -> Path:
    """A real PDF, one string per page (latin-1 only: fpdf2 core fonts); "" draws a rectangle."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number, text in enumerate(pages):
        pdf.add_page()
        if sections:
            pdf.start_section(sections[number])
            pdf.multi_cell(0, 8, sections[number], new_x="LMARGIN", new_y="NEXT")
        if text:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.rect(20, 20, 60, 40)
    pdf.output(str(path))
    return path


def encrypt(source: Path, target: Path, password: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=password, owner_password="owner")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def write_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = ""
    document.add_heading("Politique de télétravail", level=1)
    document.add_paragraph("Cette politique concerne tous les salariés.")
    document.add_heading("Équipement", level=2)
    for item in ("Un ordinateur portable", "Un écran | 24 pouces", "Un casque"):
        document.add_paragraph(item, style="List Bullet")
    table = document.add_table(rows=3, cols=2)
    for row, (status, days) in zip(
        table.rows, [("Statut", "Jours"), ("Cadre", "2"), ("Alternant", "1")], strict=True
    ):
        row.cells[0].text, row.cells[1].text = status, days
    document.add_paragraph("Le texte après le tableau.")
    document.save(str(path))
    return path


def parse(path: Path) -> ParsedDocument:
    return parse_bytes(path.read_bytes(), path)


def assert_tiles(doc: ParsedDocument) -> None:
    """Every block is exactly its slice of the text, in order, without overlaps."""
    assert doc.blocks
    previous_end = 0
    for block in doc.blocks:
        assert doc.text[block.start : block.end] == block.text
        assert block.text.strip() == block.text and block.text
        assert block.start >= previous_end
        previous_end = block.end


# -- every format ---------------------------------------------------------------------------

FILE_MAKERS: dict[str, Callable[[Path], Path]] = {
    ".md": lambda d: _write(d / "guide.md", MARKDOWN.encode()),
    ".txt": lambda d: _write(d / "notes.txt", b"Notes\n\nUne ligne.\n\n- un\n- deux\n"),
    ".html": lambda d: _write(d / "page.html", ARTICLE_HTML.encode()),
    ".pdf": lambda d: write_pdf(d / "doc.pdf", [PAGE_TEXT.format(n=n) for n in (1, 2, 3)]),
    ".docx": lambda d: write_docx(d / "doc.docx"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("extension", sorted(FILE_MAKERS))
def test_blocks_tile_the_text_with_exact_offsets(tmp_path: Path, extension: str) -> None:
    doc = parse(FILE_MAKERS[extension](tmp_path))
    assert_tiles(doc)
    assert doc.title


@pytest.mark.parametrize("extension", sorted(SUPPORTED_EXTENSIONS))
def test_empty_file_is_refused(tmp_path: Path, extension: str) -> None:
    with pytest.raises(DocumentError, match="empty file"):
        parse(_write(tmp_path / f"empty{extension}", b""))


def test_unknown_extension_names_it_and_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"\.xyz.*\.docx.*\.md"):
        parse(_write(tmp_path / "data.xyz", b"hello"))
    assert parser_for(Path("REPORT.PDF")).format == "pdf"


def test_parser_libraries_are_imported_lazily() -> None:
    code = (
        "import sys, petitrag.documents\n"
        "print(sorted(m for m in ('pypdf', 'docx', 'trafilatura', 'markdown_it') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_structure(tmp_path: Path) -> None:
    doc = parse(FILE_MAKERS[".md"](tmp_path))
    kinds = [(b.kind, b.level) for b in doc.blocks]
    assert kinds == [
        ("heading", 1), ("paragraph", 0), ("heading", 2), ("list", 0),
        ("heading", 3), ("table", 0), ("code", 0), ("paragraph", 0),
    ]  # fmt: skip
    assert doc.title == "Front matter title"  # the declared title wins over the first H1
    assert "Camille" not in "".join(b.text for b in doc.blocks)  # front matter is not content
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    assert headings == ["Guide du potager", "Semis", "Calendrier"]
    assert doc.blocks[3].text.count("\n") == 3  # the whole list, wrapped item included
    assert doc.blocks[5].text.startswith("| Légume | Semis |")  # raw Markdown table
    assert 'arrosage = "matin"' in doc.blocks[6].text


def test_markdown_comments_are_not_content_except_in_code(tmp_path: Path) -> None:
    source = (
        "# Guide <!-- title to check -->\n\n<!-- TODO: rewrite\nthis whole part -->\n\n"
        "Arroser le matin <!-- vérifier --> et le soir.\n\n"
        "Écrire `<!-- ici -->` pour cacher une note.\n\n```html\n<!-- kept -->\n```\n"
    )
    doc = parse(_write(tmp_path / "notes.md", source.encode()))
    texts = [block.text for block in doc.blocks]
    assert doc.title == "Guide" and texts[0] == "Guide"
    assert [block.kind for block in doc.blocks] == ["heading", "paragraph", "paragraph", "code"]
    assert " ".join(texts[1].split()) == "Arroser le matin et le soir."
    assert "`<!-- ici -->`" in texts[2] and "<!-- kept -->" in texts[3]
    assert "TODO" not in doc.text and "vérifier" not in doc.text
    assert doc.text.count("\n") == source.count("\n")  # line for line with the file
    assert all(doc.text[b.start : b.end] == b.text for b in doc.blocks)


def test_markdown_title_falls_back_to_front_matter_then_stem(tmp_path: Path) -> None:
    no_h1 = MARKDOWN.replace("# Guide du potager", "## Guide du potager")
    assert parse(_write(tmp_path / "a.md", no_h1.encode())).title == "Front matter title"
    assert parse(_write(tmp_path / "plain-notes.md", b"Just a paragraph.\n")).title == "plain-notes"


def test_markdown_front_matter_title_wins_over_the_first_level_one_heading(tmp_path: Path) -> None:
    """The first H1 is often a section's ("Setext Heading One"), not the document's name."""
    source = '---\ntitle: "Onboarding Guide"\n---\n\nIntro.\n\nFirst steps\n===========\n\nBadge.\n'
    assert parse(_write(tmp_path / "onboarding.md", source.encode())).title == "Onboarding Guide"
    siblings = "# Brake maintenance\n\nPads.\n\n# Batteries\n\nCharge it.\n"  # neither names the whole
    assert parse(_write(tmp_path / "bike.md", siblings.encode())).title == "bike"


def test_markdown_raw_html_blocks_keep_their_text_not_their_tags(tmp_path: Path) -> None:
    """A GitHub README's centered logo and badges were indexed as text, attributes and all."""
    source = (
        '<div align="center">\n  <img src="logo.png" alt="Logo" width="200">\n'
        "  <h1>SuperTool</h1>\n</div>\n\n"
        '<p align="center">\n  <a href="https://ci.example.com"><img src="badge.svg" alt="build"></a>'
        "\n</p>\n\nSuperTool converts spreadsheets into invoices.\n\n<details>\n"
        "<summary>Installation on Windows</summary>\n\nRun setup-wombat.exe as administrator.\n\n"
        "</details>\n\n<style>\n.x { color: red }\n</style>\n"
    )
    doc = parse(_write(tmp_path / "README.md", source.encode()))
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "SuperTool"),  # an HTML heading alone in its block is a heading
        ("paragraph", 0, "SuperTool converts spreadsheets into invoices."),
        ("paragraph", 0, "Installation on Windows"),
        ("paragraph", 0, "Run setup-wombat.exe as administrator."),
    ]
    assert doc.title == "SuperTool"
    assert doc.text.count("\n") == source.count("\n")  # line for line with the file
    assert_tiles(doc)


def test_markdown_toml_front_matter_is_not_content(tmp_path: Path) -> None:
    """Hugo sites write their front matter in TOML, between +++ lines."""
    source = '+++\ntitle = "Compost au jardin"\nauthor = "Camille"\n+++\n\nTourner le tas.\n'
    doc = parse(_write(tmp_path / "compost.md", source.encode()))
    assert doc.title == "Compost au jardin"
    assert [b.text for b in doc.blocks] == ["Tourner le tas."]


def test_markdown_setext_heading_and_crlf(tmp_path: Path) -> None:
    doc = parse(_write(tmp_path / "s.md", b"Titre\r\n=====\r\n\r\nTexte.\r\n"))
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Titre"),
        ("paragraph", 0, "Texte."),
    ]
    assert_tiles(doc)


# -- plain text -------------------------------------------------------------------------------

FRENCH = (
    "Compte rendu de la réunion\n\nLe comité a voté à l'unanimité ; l'été sera chargé.\n\n- œuvre\n- Noël\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "utf-16-be"])
def test_text_encodings(tmp_path: Path, encoding: str) -> None:
    """utf-16-le and -be have no BOM; "œ" has a high byte (it made such a file "binary")."""
    doc = parse(_write(tmp_path / "notes.txt", FRENCH.encode(encoding)))
    assert doc.text == FRENCH  # BOM stripped, accents intact
    assert doc.title == "Compte rendu de la réunion"
    assert [b.kind for b in doc.blocks] == ["paragraph", "paragraph", "list"]
    assert_tiles(doc)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # UTF-8 with two stray bytes: once read as cp1252 whole, "réunion" became "rÃ©union"
        (FRENCH.encode().replace(b"Le comit", b"Le \xff\xfecomit"), FRENCH.replace("Le comit", "Le ÿþcomit")),
        # cp1252 with one byte cp1252 leaves undefined: once read as latin-1 whole, "’" became "\x92"
        ("L’été, l’œuvre. \x81".encode("cp1252", errors="ignore") + b"\x81", "L’été, l’œuvre. \x81"),
    ],
)
def test_a_few_odd_bytes_do_not_change_the_reading_of_the_whole_file(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    assert parse(_write(tmp_path / "notes.txt", data)).text == expected


def test_invisible_characters_do_not_split_words(tmp_path: Path) -> None:
    """A zero-width space, soft hyphen or inner BOM cut "réunion" in two for search;
    NULs past the sniffed start reached the index (and the prompts)."""
    text = "La ré\u200bunion du co\u00admité\ufeff est close.\n" + "Suite.\n" * 2000 + "Fin.\x00\x00\n"
    doc = parse(_write(tmp_path / "notes.txt", text.encode()))
    assert doc.text.startswith("La réunion du comité est close.\n") and doc.text.endswith("Fin.\n")
    assert_tiles(doc)
    html = "<html><body><p>La ré&#8203;union du co&shy;mité.</p></body></html>"
    assert parse(_write(tmp_path / "page.html", html.encode())).text == "La réunion du comité."


def test_decomposed_accents_are_composed_in_every_format(tmp_path: Path) -> None:
    """macOS tools write « é » as « e » + a combining accent: "délégués" was stored as
    "de le gue s" for search, and no question could find it."""
    sentence = "Les employés élisent leurs délégués à la préfecture."
    decomposed = unicodedata.normalize("NFD", sentence)
    assert decomposed != sentence
    assert parse(_write(tmp_path / "notes.txt", decomposed.encode())).text.strip() == sentence
    assert (
        parse(_write(tmp_path / "notes.md", f"# Élections\n\n{decomposed}\n".encode())).blocks[1].text
        == sentence
    )
    page = f"<html><body><p>{decomposed}</p></body></html>"
    assert parse(_write(tmp_path / "page.html", page.encode())).text == sentence
    assert words(decomposed) == words(sentence)  # a question typed that way finds the same words
    joined = parse(_write(tmp_path / "zw.txt", "kanga\u200croo and ki\u200dwi\n".encode())).text
    assert joined == "kangaroo and kiwi\n"


def test_text_offsets_index_the_source_even_with_indentation(tmp_path: Path) -> None:
    source = "\n\n   Indented start.\nsecond line  \n\n\n  1. un\n  2. deux\n     suite\n"
    doc = parse(_write(tmp_path / "t.text", source.encode()))
    assert doc.text == source
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Indented start.\nsecond line"),
        ("list", "1. un\n  2. deux\n     suite"),
    ]
    assert_tiles(doc)


_NOT_TITLES = [
    "Reminder: the wifi password is tulip42.",
    "Product | Unit price in EUR | Colour",
    "- buy milk before the meeting",
    "Article 1",
    "Été à la réunion du café. puis au bureau",
    "This first line is a long run of words that goes on well past a dozen words without stopping",
]


@pytest.mark.parametrize(
    ("first", "title"),
    [
        ("Employee Handbook 2024", "Employee Handbook 2024"),
        ("Windows 11", "Windows 11"),
        ("Acme Inc.", "Acme Inc."),
        *((s, "notes") for s in _NOT_TITLES),
    ],
)
def test_text_title_is_a_title_like_first_line_else_the_file_name(
    tmp_path: Path, first: str, title: str
) -> None:
    """The title is put before every chunk's index text: a first sentence taken for one made
    every chunk of the file match a search for its words ("wifi password")."""
    doc = parse(_write(tmp_path / "notes.txt", f"{first}\n\nParking is on level -2.\n".encode()))
    assert doc.title == title


def test_binary_content_with_a_text_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"binary content, not text$"):
        parse(_write(tmp_path / "binary.txt", bytes(range(256)) * 64))
    pdf = write_pdf(tmp_path / "real.pdf", ["Un rapport."]).read_bytes()
    with pytest.raises(DocumentError, match=r"binary content, not text; it is a PDF: name it \.pdf"):
        parse(_write(tmp_path / "report.txt", pdf))


def test_whitespace_only_text_has_no_extractable_text(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no extractable text"):
        parse(_write(tmp_path / "blank.txt", b"  \n\n \t\n"))


# -- HTML -------------------------------------------------------------------------------------


def test_html_keeps_the_article_and_drops_menus(tmp_path: Path) -> None:
    doc = parse(FILE_MAKERS[".html"](tmp_path))
    assert doc.title == "Le compost maison"
    assert "Le compost transforme les épluchures" in doc.text
    for boilerplate in ("Boutique", "Connexion", "Mentions légales"):
        assert boilerplate not in doc.text
    assert ("heading", 2, "Les bons mélanges") in [(b.kind, b.level, b.text) for b in doc.blocks]
    tables = [b.text for b in doc.blocks if b.kind == "table"]
    assert tables == [
        "| Matière | Type |\n| --- | --- |\n| Feuilles sèches | brune |\n| Marc de café | verte |"
    ]


_RULE = "Le salarié adresse sa demande de congé à son manager au moins quatre semaines avant son départ."


def test_html_sections_inside_a_plain_div_keep_their_headings_and_lists(tmp_path: Path) -> None:
    """A Word page's <div class=WordSection1> came out of trafilatura as one <div>, read as a
    single paragraph: headings lost their role and the list its items."""
    html = (
        f"<html><body><div class=WordSection1><h1>Arrivée</h1><p>{_RULE}</p><h2>Matériel</h2>"
        f"<p>{_RULE} Deux.</p><p>{_RULE} Trois.</p><ul><li>Ordinateur Dell</li><li>Casque Jabra</li></ul>"
        "</div></body></html>"
    )
    doc = parse(_write(tmp_path / "word.html", html.encode()))
    assert [b.kind for b in doc.blocks] == [
        "heading",
        "paragraph",
        "heading",
        "paragraph",
        "paragraph",
        "list",
    ]
    assert doc.blocks[-1].text == "- Ordinateur Dell\n- Casque Jabra"


def test_html_without_a_content_container_keeps_every_heading(tmp_path: Path) -> None:
    """Past a few sections, trafilatura read such pages (hand-written, Word exports) with its
    "wild text" recovery, which keeps paragraphs and drops every heading."""
    sections = "".join(
        f"<h2>Section {i}</h2>" + "".join(f"<p>Règle {i}.{j} : {_RULE}</p>" for j in range(3))
        for i in range(8)
    )
    html = f"<html><head><title>Guide</title></head><body><h1>Guide des congés</h1>{sections}</body></html>"
    doc = parse(_write(tmp_path / "guide.html", html.encode()))
    headings = [b.text for b in doc.blocks if b.kind == "heading"]
    assert headings == ["Guide des congés"] + [f"Section {i}" for i in range(8)]


@pytest.mark.parametrize("name", ["bareme", "expand-container", "callout", "metadata", "slide"])
def test_html_content_in_a_block_whose_class_looks_like_boilerplate_is_kept(
    tmp_path: Path, name: str
) -> None:
    """trafilatura drops any block whose class contains "bar", "expand", "meta", "slide"...:
    a "barème" table or a Confluence expand macro lost without a word."""
    html = (
        f"<html><body><article><h1>Frais</h1><p>{_RULE}</p><div class='{name}'>"
        "<p>Le barème kilométrique rembourse 0,636 euro par kilomètre jusqu'à cinq mille kilomètres.</p>"
        "<table><tr><th>Distance</th><th>Taux</th></tr><tr><td>5 000 km</td><td>0,636</td></tr></table>"
        f"</div><p>{_RULE} Fin.</p><div class=menu><ul><li>Accueil</li><li>Contact</li></ul></div>"
        "</article></body></html>"
    )
    doc = parse(_write(tmp_path / "frais.html", html.encode()))
    assert "0,636 euro par kilomètre" in doc.text and "| 5 000 km | 0,636 |" in doc.text
    assert doc.text.index("Frais") < doc.text.index("0,636 euro") < doc.text.index("Fin.")


def test_tiny_html_page_falls_back_to_body_text(tmp_path: Path) -> None:
    html = "<html><body><nav>Accueil</nav><h1>Bonjour</h1><p>Un mot.</p><ul><li>a</li><li>b</li></ul></body>"
    doc = parse(_write(tmp_path / "tiny.htm", html.encode()))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Bonjour"),
        ("paragraph", "Un mot."),
        ("list", "- a\n- b"),
    ]
    assert doc.title == "Bonjour"


def test_html_cookie_banners_are_not_content(tmp_path: Path) -> None:
    """A consent banner's sentences read as prose trafilatura lost: the page was read from its
    visible text, and its first chunk was "We use cookies…". A section about cookies stays."""
    html = (
        '<html><body><div id="cookie-banner" class="consent">We use cookies to improve your experience.'
        " By clicking Accept you agree to our cookie policy. <button>Accept</button></div>"
        '<div role="dialog" aria-label="Cookie consent"><p>We and our partners store data on your'
        " device for analytics.</p></div><h1>Bake sale</h1>"
        '<section class="cookies"><h1>Cookies</h1><p>Butter cookies cost two euros a bag.</p></section>'
        "</body></html>"
    )
    doc = parse(_write(tmp_path / "sale.html", html.encode()))
    assert [b.text for b in doc.blocks] == ["Bake sale", "Cookies", "Butter cookies cost two euros a bag."]
    article = ARTICLE_HTML.replace("<body>", "<body>" + html[12 : html.index("<h1>")])
    assert "cookies" not in parse(_write(tmp_path / "compost.html", article.encode())).text


def test_a_tiny_page_keeps_its_article_s_header(tmp_path: Path) -> None:
    """The page's <header> is boilerplate; an <article>'s holds its title, which was dropped."""
    html = (
        "<html><body><header>Intranet · Accueil</header><article><header><h1>Parking rules</h1>"
        "<p>By Facilities</p></header><p>Level minus two is for electric cars.</p></article></body></html>"
    )
    doc = parse(_write(tmp_path / "parking.html", html.encode()))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Parking rules"),
        ("paragraph", "By Facilities"),
        ("paragraph", "Level minus two is for electric cars."),
    ]


def test_a_page_wrapped_in_a_form_keeps_its_content_and_drops_real_forms(tmp_path: Path) -> None:
    """ASP.NET and SharePoint wrap every page's body in <form id="form1">: skipped as a form,
    the page lost all its text, trafilatura's included."""
    html = (
        '<html><head><title>Benefits</title></head><body><form method="post" id="form1">'
        '<div class="aspNetHidden"><input type="hidden" name="__VIEWSTATE" value="abc"></div>'
        "<h1>Employee benefits</h1><p>Meal vouchers are worth nine euros each.</p>"
        "<ul><li>Gym membership refunded</li><li>Transport pass refunded</li></ul>"
        '<form action="/login"><label>Username</label><input name="user"><button>Log in</button></form>'
        "</form></body></html>"
    )
    doc = parse(_write(tmp_path / "benefits.aspx.html", html.encode()))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Employee benefits"),
        ("paragraph", "Meal vouchers are worth nine euros each."),
        ("list", "- Gym membership refunded\n- Transport pass refunded"),
    ]


def test_html_text_outside_the_body_walk_is_not_lost_to_an_empty_fallback(tmp_path: Path) -> None:
    """When the body walk finds nothing (all text in a page-level <header>), trafilatura's text stays."""
    html = "<html><body><header><p>The canteen opens at noon and closes at two.</p></header></body></html>"
    assert parse(_write(tmp_path / "canteen.html", html.encode())).text == (
        "The canteen opens at noon and closes at two."
    )


def test_html_aside_inside_the_article_is_content_a_sidebar_is_not(tmp_path: Path) -> None:
    """A warning box in an <aside> of the article was dropped with the sidebars."""
    html = (
        "<html><head><title>Safety rules</title></head><body><main><article>"
        "<h1>Laboratory safety rules</h1><p>Always wear safety goggles and a lab coat when handling "
        "chemicals in the laboratory, and keep the door closed.</p><aside class='warning'><p>Warning: never "
        "store hydrofluoric acid in glass bottles; it dissolves glass and causes severe burns.</p></aside>"
        "<p>Spills must be reported to the safety officer on extension 4242 immediately.</p></article></main>"
        "<aside><h2>Related</h2><ul><li>Canteen</li><li>Parking</li></ul></aside></body></html>"
    )
    doc = parse(_write(tmp_path / "safety.html", html.encode()))
    assert "never store hydrofluoric acid in glass bottles" in doc.text
    assert doc.text.index("goggles") < doc.text.index("hydrofluoric") < doc.text.index("Spills")
    assert "Related" not in doc.text and "Canteen" not in doc.text


def test_tiny_html_page_keeps_line_breaks_and_nested_lists(tmp_path: Path) -> None:
    """The body-text fallback used to glue the words around <br> ("rue X75000") and
    repeat a nested list inside its parent item's text."""
    html = (
        "<html><body><h1>Contact</h1><p>1 rue X<br>75000 Paris</p>"
        "<ol><li>Un<ul><li>sous-point</li></ul></li><li>Deux</li></ol></body></html>"
    )
    doc = parse(_write(tmp_path / "contact.html", html.encode()))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Contact"),
        ("paragraph", "1 rue X\n75000 Paris"),
        ("list", "1. Un\n  - sous-point\n2. Deux"),
    ]


def test_html_meta_charset_is_honoured(tmp_path: Path) -> None:
    html = '<head><meta charset="windows-1252"><title>Noël</title></head><body><p>Œuvre à Noël.</p></body>'
    doc = parse(_write(tmp_path / "old.html", html.encode("cp1252")))
    assert doc.title == "Noël" and "Œuvre à Noël." in doc.text
    saved = parse(_write(tmp_path / "saved.html", html.replace("windows-1252", "iso-8859-1").encode()))
    assert "Œuvre à Noël." in saved.text  # UTF-8 bytes under a Latin-1 <meta>: not "Ã€uvre Ã  NoÃ«l"
    mac = parse(
        _write(tmp_path / "mac.html", html.replace("windows-1252", "x-mac-roman").encode("mac_roman"))
    )
    assert mac.title == "Noël" and "Œuvre à Noël." in mac.text  # an old Mac page: not "Œuvre ˆ No‘l"


def test_html_declared_utf8_but_saved_in_cp1252_is_read_as_cp1252(tmp_path: Path) -> None:
    html = '<head><meta charset="utf-8"><title>Noël</title></head><body><p>La réunion à Noël.</p></body>'
    doc = parse(_write(tmp_path / "old.html", html.encode("cp1252")))
    assert doc.title == "Noël" and doc.text == "La réunion à Noël."  # not "La r\ufffdunion"


def test_a_file_named_html_that_is_binary_says_what_it_is(tmp_path: Path) -> None:
    """A PDF, an image or a .docx saved as .html was indexed as chunks of binary garbage."""
    pdf = write_pdf(tmp_path / "real.pdf", ["Un rapport."]).read_bytes()
    for data, said in [
        (pdf, r"; it is a PDF: name it \.pdf$"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "; it is an image"),
        (_docx_bytes(docx.Document()), r"; it is a Word \.docx: name it \.docx$"),
        (bytes(range(256)) * 16, "$"),
    ]:
        with pytest.raises(DocumentError, match=f"^binary content, not HTML{said}"):
            parse(_write(tmp_path / "page.html", data))
    page = "<html><head><title>Été</title></head><body><p>Réunion à midi.</p></body></html>"
    doc = parse(_write(tmp_path / "export.htm", page.encode("utf-16-le")))  # no BOM: not binary
    assert doc.title == "Été" and doc.text == "Réunion à midi."


# -- PDF --------------------------------------------------------------------------------------


def test_pdf_pages_are_kept_on_blocks(tmp_path: Path) -> None:
    doc = parse(FILE_MAKERS[".pdf"](tmp_path))
    assert doc.pages == 3 and doc.warnings == []
    assert {b.page for b in doc.blocks} == {1, 2, 3}
    for block in doc.blocks:
        assert f"Page {block.page} : le jardinier prépare" in block.text


@pytest.mark.parametrize(
    ("first", "title"),
    [
        ("Employee Handbook 2024", "Employee Handbook 2024"),
        ("Windows 11", "Windows 11"),
        ("Acme Inc.", "Acme Inc."),
        *((s, "notes") for s in _NOT_TITLES),
    ],
)
def test_pdf_title_is_a_title_like_first_line_else_the_file_name(
    tmp_path: Path, first: str, title: str
) -> None:
    doc = parse(write_pdf(tmp_path / "notes.pdf", [f"{first}\n\nParking is on level -2 for every visitor."]))
    assert doc.title == title


def test_pdf_metadata_title_wins(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_title("Parking rules")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(0, 6, "Reminder: the wifi password is tulip42.")
    pdf.output(str(tmp_path / "p.pdf"))
    assert parse(tmp_path / "p.pdf").title == "Parking rules"


def test_pdf_outline_becomes_headings_on_their_pages(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "o.pdf", ["Les semis se font au printemps.", "On récolte en été."], ["Semis", "Récolte"]
    )
    doc = parse(path)
    headings = [(b.text, b.page, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [("Semis", 1, 1), ("Récolte", 2, 1)]
    assert doc.text.count("Semis") == 1  # the heading line is not repeated as a paragraph


@pytest.mark.parametrize(
    ("bookmark", "printed"),
    [("{n}. {title}", "{n}. {title}"), ("{title}", "{n} {title}")],  # Word's, LaTeX hyperref's
)
def test_pdf_numbered_headings_are_found_on_a_page_of_several(
    tmp_path: Path, bookmark: str, printed: str
) -> None:
    """Not found, every bookmark of a page was stacked at its top: all its text was cited
    under the last one ("Methods" text under "3. Results")."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    sections = [
        ("Introduction", "The walrus project studies the erosion of the coast near the fjord. " * 3),
        ("Methods", "Samples were taken with a titanium corer at forty stations along the shore. " * 3),
        ("Results", "Erosion rates doubled where the kelp forest had disappeared entirely. " * 3),
    ]
    for n, (title, body) in enumerate(sections, start=1):
        pdf.start_section(bookmark.format(n=n, title=title))
        pdf.cell(0, 10, printed.format(n=n, title=title))
        pdf.ln(14)
        pdf.multi_cell(0, 6, body.strip())
        pdf.ln(8)
    path = tmp_path / "paper.pdf"
    pdf.output(str(path))
    chunks = Chunker(lambda text: len(words(text)), budget=200, overlap=5).chunk(parse(path))
    section_of = {chunk.text.split()[0]: chunk.section for chunk in chunks}
    assert section_of["Samples"] == printed.format(n=2, title="Methods")  # the page's number kept
    assert section_of["Erosion"] == printed.format(n=3, title="Results")


def test_pdf_numbers_that_only_look_like_a_footer_are_kept(tmp_path: Path) -> None:
    """One invoice per page: "Facture n. 2024-0013" and "Total TTC : 489,90 EUR" take a running
    line's place and differ only by numbers, but those numbers do not follow the pages."""
    invoices = [("2024-0012", "Farine T65 biologique.", "312,40"), ("2024-0013", "Deux pneus.", "489,90")]
    invoices.append(("2024-0014", "Maintenance du photocopieur.", "275,10"))
    pages = [f"Facture n. {number}\n\n{what}\n\nTotal TTC : {total} EUR" for number, what, total in invoices]
    doc = parse(write_pdf(tmp_path / "factures.pdf", pages))
    for number, _, total in invoices:
        assert number in doc.text and total in doc.text


def test_pdf_running_headers_and_footers_are_left_out(tmp_path: Path) -> None:
    """Repeated on every page, they were glued to each page's first and last paragraphs and
    found by every search for their words."""

    class Handbook(FPDF):
        def header(self) -> None:
            self.set_font("helvetica", size=9)
            self.cell(0, 8, "ACME Corporation - Internal Handbook - Confidential")
            self.ln(12)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("helvetica", size=9)
            self.cell(0, 8, f"Page {self.page_no()} of 4")

    pdf = Handbook()
    pdf.set_font("helvetica", size=11)
    for topic in ("holidays", "expenses", "security", "training"):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"This page explains the rules about {topic} for every employee. " * 4)
    path = tmp_path / "handbook.pdf"
    pdf.output(str(path))
    doc = parse(path)
    assert "Page" not in doc.text  # page numbers go from every page
    # the header is kept where it first appears, as content shown once
    assert doc.blocks[0].text == "ACME Corporation - Internal Handbook - Confidential"
    assert [b.text.split()[-1] for b in doc.blocks[1:]] == ["employee."] * 4  # each page's body, whole
    assert [b.page for b in doc.blocks] == [1, 1, 2, 3, 4]


_CROPS = ("tomates", "radis", "courges", "poireaux")


def _body(n: int) -> str:
    return f"Le jardinier prépare la terre avec soin avant de semer les {_CROPS[n - 1]} du printemps."


@pytest.mark.parametrize(
    "footer",
    [
        "Page {n} of 4",
        "{n} / 4",
        "- {n} -",
        "{n}",
        "Seite {n} von 4",
        "Acme Corp - {n}",
        "Acme Corp · page {n}",
        "ACME Internal Handbook {n}",  # a title left, a number right: the commonest footer
        "Confidential {n}",
        "({n})",
        "Page No. {n}",
        "{r}",  # front matter: "…dairy farmers. i" was one paragraph
        "- {r} -",
        "{R}",
    ],
)
def test_pdf_page_numbers_of_every_shape_are_left_out(tmp_path: Path, footer: str) -> None:
    roman = ["", "i", "ii", "iii", "iv"]
    pages = [
        f"{_body(n)} {_body(n)}\n{footer.format(n=n, r=roman[n], R=roman[n].upper())}" for n in range(1, 5)
    ]
    doc = parse(write_pdf(tmp_path / "footer.pdf", pages))
    assert [(b.page, b.text) for b in doc.blocks] == [(n, f"{_body(n)} {_body(n)}") for n in range(1, 5)]


@pytest.mark.parametrize("heading", ["Article {n}", "Chapter {n}", "Section {n} - Scope", "Étape {n}"])
def test_pdf_headings_numbered_like_their_page_are_not_page_numbers(tmp_path: Path, heading: str) -> None:
    """A contract opening page 3 with "Article 3": its number follows the pages, and every
    article heading was dropped as a page number."""
    pages = [f"{heading.format(n=n)}\n\n{_body(n)}" for n in range(1, 5)]
    doc = parse(write_pdf(tmp_path / "contract.pdf", pages))
    blocks = [(b.page, b.text) for b in doc.blocks]
    assert blocks == [(n, text) for n in range(1, 5) for text in (heading.format(n=n), _body(n))]


def test_pdf_running_line_is_kept_where_it_first_appears(tmp_path: Path) -> None:
    """A price list repeats its table's header row on each page: every copy went, and the
    table lost its column names."""
    header = "Product | Unit price in EUR | Colour"
    rows = [
        "Widget | 12.50 | Blue",
        "Gadget | 8.00 | Red",
        "Doohickey | 3.25 | Green",
        "Sprocket | 99.99 | Black",
    ]
    pages = [f"{header}\n\n{row}\n\n{_body(n)}" for n, row in enumerate(rows, start=1)]
    doc = parse(write_pdf(tmp_path / "pricelist.pdf", pages))
    assert doc.text.count(header) == 1
    assert [b.page for b in doc.blocks if header in b.text] == [1]
    assert all(row in doc.text for row in rows)


def test_pdf_paragraphs_are_rebuilt_from_wrapped_lines() -> None:
    text = (
        "Titre court\n"
        "Une ligne assez longue pour être considérée comme pleine, coupée par la mise en page, un exem-\n"
        "ple qui continue ici et se termine plus loin dans une ligne elle aussi bien remplie de mots.\n"
        "Fin.\n"
        "• premier point\n• second point"
    )
    blocks = page_blocks(text, page=4)
    assert [b.kind for b in blocks] == ["paragraph", "paragraph", "list"]
    assert blocks[0].text == "Titre court"
    assert "page, un exemple qui continue" in blocks[1].text and blocks[1].text.endswith("Fin.")
    assert blocks[2].text == "• premier point\n• second point"
    assert all(b.page == 4 for b in blocks)


def test_pdf_words_cut_at_a_line_end_keep_the_hyphen_they_own() -> None:
    """A line break cuts "exem-ple" (hyphen dropped) but not "porte-parole", "Jean-Pierre",
    "1939-1945" or "celle-ci": those kept their hyphen only to lose it, or gained a space."""
    line = "Une ligne assez longue pour être considérée comme pleine par la mise en page du texte"
    text = "\n".join(
        [
            f"{line}, le porte-parole a parlé.",
            f"{line}, un exem-",
            "ple puis le porte-",
            "parole, puis Jean-",
            "Pierre, de 1939-",
            "1945, et celle-",
            "ci qui finit ici et se termine plus loin dans une ligne elle aussi bien remplie.",
        ]
    )
    compounds = hyphenated_words([text])
    assert compounds == frozenset({"porte-parole"})
    joined = page_blocks(text, page=1, compounds=compounds)[0].text
    for phrase in ("un exemple puis", "le porte-parole, puis", "Jean-Pierre, de 1939-1945, et celle-ci qui"):
        assert phrase in joined
    # without the document's own spelling, a cut before a lowercase letter is a line break's
    assert "le porteparole, puis" in page_blocks(text, page=1)[0].text


def test_pdf_short_line_that_ends_mid_sentence_does_not_end_the_paragraph() -> None:
    """Ragged-right text or a narrow column wraps early: "…indéterminée," is short, but the
    next line, in lowercase, continues its sentence."""
    full = "Le salarié embauché au titre du présent accord bénéficie d'un contrat de travail"
    rest = "signé par les deux parties."
    blocks = page_blocks(f"{full}\n{full}\ncontrat à durée indéterminée,\n{rest}\nFin.", page=1)
    assert [b.text for b in blocks] == [f"{full} {full} contrat à durée indéterminée, {rest}", "Fin."]


def test_pdf_with_a_user_password_is_refused(tmp_path: Path) -> None:
    locked = encrypt(write_pdf(tmp_path / "a.pdf", ["Secret."]), tmp_path / "locked.pdf", "secret")
    with pytest.raises(DocumentError, match="encrypted PDF"):
        parse(locked)


def test_pdf_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    opened = encrypt(write_pdf(tmp_path / "a.pdf", ["Lisible par tous."]), tmp_path / "open.pdf", "")
    assert "Lisible par tous." in parse(opened).text


@pytest.mark.parametrize("damage", ["truncated", "random"])
def test_corrupt_pdf_is_refused(tmp_path: Path, damage: str) -> None:
    good = write_pdf(tmp_path / "good.pdf", [PAGE_TEXT.format(n=1)]).read_bytes()
    data = good[: len(good) // 2] if damage == "truncated" else bytes(range(7, 250)) * 20
    with pytest.raises(DocumentError, match="corrupt or unreadable PDF: "):
        parse(_write(tmp_path / "bad.pdf", data))


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="no text layer"):
        parse(write_pdf(tmp_path / "scan.pdf", [""]))
    doc = parse(write_pdf(tmp_path / "mixed.pdf", ["Du texte ici.", ""]))
    assert doc.warnings == ["no text layer on page 2 (scanned? OCR is not supported)"]


# -- DOCX -------------------------------------------------------------------------------------


def test_docx_structure_in_document_order(tmp_path: Path) -> None:
    doc = parse(FILE_MAKERS[".docx"](tmp_path))
    assert [(b.kind, b.level) for b in doc.blocks] == [
        ("heading", 1), ("paragraph", 0), ("heading", 2), ("list", 0), ("table", 0), ("paragraph", 0),
    ]  # fmt: skip
    assert doc.title == "Politique de télétravail"
    assert doc.blocks[3].text == "- Un ordinateur portable\n- Un écran | 24 pouces\n- Un casque"
    assert doc.blocks[4].text == "| Statut | Jours |\n| --- | --- |\n| Cadre | 2 |\n| Alternant | 1 |"


def test_docx_headings_in_a_template_s_own_styles_are_headings(tmp_path: Path) -> None:
    """A company template's "ACME Heading" (based on Heading 1), or a style given an outline
    level, was read as body text: its section was the heading before it."""
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.add_heading("Congés", 1)
    document.add_paragraph("Vingt-cinq jours par an.")
    based = document.styles.add_style("ACME Heading", WD_STYLE_TYPE.PARAGRAPH)
    based.base_style = document.styles["Heading 2"]
    document.add_paragraph("Frais", style="ACME Heading")
    document.add_paragraph("Les notes de frais passent par le portail Flamingo.")
    outlined = document.styles.add_style("Titre maison", WD_STYLE_TYPE.PARAGRAPH)
    outlined.element.get_or_add_pPr().append(
        parse_xml(
            '<w:outlineLvl xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" w:val="0"/>'
        )
    )
    document.add_paragraph("Sécurité", style="Titre maison")
    document.add_paragraph("Badge obligatoire.")
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse(_write(tmp_path / "h.docx", buffer.getvalue()))
    assert [(b.kind, b.level, b.text) for b in doc.blocks if b.kind == "heading"] == [
        ("heading", 1, "Congés"), ("heading", 2, "Frais"), ("heading", 1, "Sécurité"),
    ]  # fmt: skip


def test_docx_title_from_core_properties(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "t.docx")
    document = docx.Document(str(path))
    document.core_properties.title = "Titre officiel"
    buffer = io.BytesIO()
    document.save(buffer)
    assert parse(_write(path, buffer.getvalue())).title == "Titre officiel"


def test_docx_keeps_tracked_insertions_fields_nested_tables_and_writes_merged_cells_once(
    tmp_path: Path,
) -> None:
    """python-docx's ``paragraph.text`` and ``cell.text`` silently drop these words."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    paragraph = document.add_paragraph("Le loyer est de ")
    for xml in (
        f'<w:ins {w} w:id="1" w:author="A"><w:r><w:t>900 euros</w:t></w:r></w:ins>',
        f'<w:del {w} w:id="2" w:author="A"><w:r><w:delText>800 euros</w:delText></w:r></w:del>',
        f'<w:fldSimple {w} w:instr="D"><w:r><w:t xml:space="preserve"> au 1er mai</w:t></w:r></w:fldSimple>',
        f'<w:smartTag {w} w:uri="u" w:element="e"><w:r><w:t>.</w:t></w:r></w:smartTag>',
    ):
        paragraph._p.append(parse_xml(xml))
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Locataire"
    table.cell(0, 2).text = "Garant"
    table.cell(1, 0).text, table.cell(1, 1).text = "Camille", "Dupont"
    table.cell(1, 2).add_table(rows=1, cols=1).cell(0, 0).text = "Banque Populaire"
    doc = parse(_write(tmp_path / "bail.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == [
        "Le loyer est de 900 euros au 1er mai.",
        "| Locataire |  | Garant |\n| --- | --- | --- |\n| Camille | Dupont | Banque Populaire |",
    ]


def test_docx_rows_and_cells_inside_content_controls_are_read(tmp_path: Path) -> None:
    """A Word "repeating section" wraps whole rows, a form template single cells, in w:sdt:
    python-docx reads neither, and "Stylo bille" could not be found."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def cell(text: str, merge: str = "") -> str:
        return f"<w:tc>{merge}<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"

    span = '<w:tcPr><w:gridSpan w:val="2"/></w:tcPr>'
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Produit", "Prix"
    for xml in (
        f"<w:sdt {w}><w:sdtPr/><w:sdtContent><w:tr>{cell('Stylo bille')}{cell('1,20 euro')}</w:tr>"
        "</w:sdtContent></w:sdt>",
        f"<w:tr {w}>{cell('Agrafeuse')}<w:sdt><w:sdtPr/><w:sdtContent>{cell('9,90 euros')}</w:sdtContent>"
        "</w:sdt></w:tr>",
        f"<w:tr {w}>{cell('Papier', span)}</w:tr>",
    ):
        table._tbl.append(parse_xml(xml))
    doc = parse(_write(tmp_path / "tarifs.docx", _docx_bytes(document)))
    assert doc.blocks[0].text.split("\n")[2:] == [
        "| Stylo bille | 1,20 euro |",
        "| Agrafeuse | 9,90 euros |",
        "| Papier |  |",
    ]


def test_docx_page_and_column_breaks_separate_words(tmp_path: Path) -> None:
    """python-docx reads a page or column break as nothing: "partieDeuxième"."""
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    for first, brk, second in (
        ("Fin de partie", WD_BREAK.PAGE, "Deuxième partie"),
        ("Gauche", WD_BREAK.COLUMN, "Droite"),
    ):
        paragraph = document.add_paragraph(first)
        paragraph.add_run().add_break(brk)
        paragraph.add_run(second)
    doc = parse(_write(tmp_path / "sauts.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == ["Fin de partie\nDeuxième partie", "Gauche\nDroite"]


def test_docx_numbered_lists_keep_their_numbers(tmp_path: Path) -> None:
    """ "List Number" items read "- Open the valve": "step 3" could not be found. Numbers go on
    after a paragraph between two items, as in Word; a nested list restarts under each item."""
    document = docx.Document()
    for text, style in (
        ("Open the valve", "List Number"), ("Check the gauge", "List Number"), ("A note.", None),
        ("Close the valve", "List Number"), ("Left", "List Number 2"), ("Right", "List Number 2"),
        ("Wait", "List Number"), ("Ten minutes", "List Number 2"), ("Gloves", "List Bullet"),
    ):  # fmt: skip
        document.add_paragraph(text, style=style)
    doc = parse(_write(tmp_path / "procedure.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == [
        "1. Open the valve\n2. Check the gauge",
        "A note.",
        "3. Close the valve\n  1. Left\n  2. Right\n4. Wait\n  1. Ten minutes\n- Gloves",
    ]


def test_docx_list_numbers_follow_the_numbering_definitions(tmp_path: Path) -> None:
    """Letters, multi-level "%1.%2." texts and a restarted copy of a list, from numbering.xml."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {w} w:abstractNumId="90">'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="upperLetter"/>'
            '<w:lvlText w:val="%1)"/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
            '<w:lvlText w:val="%1.%2."/></w:lvl>'
            "</w:abstractNum>"
        ),
    )
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(
        parse_xml(
            f'<w:num {w} w:numId="91"><w:abstractNumId w:val="90"/>'
            '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
        )
    )
    for text, num_id, level in (("Scope", 90, 0), ("Sites", 90, 1), ("Staff", 90, 1), ("Terms", 90, 0),
                                ("Again", 91, 0)):  # fmt: skip
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {w}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>')
        )
    doc = parse(_write(tmp_path / "terms.docx", _docx_bytes(document)))
    assert doc.blocks[0].text == "A) Scope\n  A.1. Sites\n  A.2. Staff\nB) Terms\nA) Again"


def test_docx_headings_numbered_by_word_keep_their_numbers(tmp_path: Path) -> None:
    """Numbering on Heading styles was lost: "Obligations > Warranty" for "Article 2
    Obligations > 2.2 Warranty". The styles name no level: each level names its style. A
    list between two headings does not restart them; a paragraph its style numbers is a list."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    numbering = document.part.numbering_part.element
    levels = "".join(
        f'<w:lvl w:ilvl="{n}"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        f'<w:pStyle w:val="{style}"/><w:lvlText w:val="{text}"/></w:lvl>'
        for n, style, text in ((0, "Heading1", "Article %1"), (1, "Heading2", "%1.%2"), (2, "Clause", "(%3)"))
    )
    numbering.insert(0, parse_xml(f'<w:abstractNum {w} w:abstractNumId="90">{levels}</w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {w} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    clause = document.styles.add_style("Clause", docx.enum.style.WD_STYLE_TYPE.PARAGRAPH)
    for style in (document.styles["Heading 1"], document.styles["Heading 2"], clause):
        style.element.get_or_add_pPr().append(parse_xml(f'<w:numPr {w}><w:numId w:val="90"/></w:numPr>'))
    document.add_heading("Definitions", 1)
    document.add_heading("Obligations", 1)
    document.add_heading("Delivery", 2)
    document.add_paragraph("Within ten days.", style="Clause")
    document.add_paragraph("Pallets", style="List Number")
    document.add_heading("Warranty", 2)
    doc = parse(_write(tmp_path / "contract.docx", _docx_bytes(document)))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Article 1 Definitions"),
        ("heading", "Article 2 Obligations"),
        ("heading", "2.1 Delivery"),
        ("list", "(1) Within ten days.\n1. Pallets"),
        ("heading", "2.2 Warranty"),
    ]


def test_docx_table_of_contents_is_neither_title_nor_text(tmp_path: Path) -> None:
    """Word's "TOC Heading" (based on Heading 1, outline level 9) made "Contents" the title and a
    section, and the TOC field's lines ("Scope\t1") were indexed; a TOC in a content control too."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def runs(*parts: str) -> str:
        return "".join(
            f'<w:r><w:fldChar w:fldCharType="{part[1:]}"/></w:r>' if part.startswith("!")
            else f"<w:r><w:instrText> {part[1:]} </w:instrText></w:r>" if part.startswith("?")
            else f"<w:r><w:t>{part}</w:t></w:r>"
            for part in parts
        )  # fmt: skip

    document = docx.Document()
    document.add_paragraph("Contents", style="TOC Heading")
    body = document.element.body
    for xml in (
        f"<w:p {w}>{runs('!begin', '?TOC', '!separate', 'Scope', '!begin', '?PAGEREF _Toc1')}"
        f"{runs('!separate', '1', '!end')}</w:p>",
        f"<w:p {w}>{runs('Claims', '!begin', '?PAGEREF _Toc2', '!separate', '2', '!end', '!end')}</w:p>",
        f'<w:sdt {w}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj>'
        f'</w:sdtPr><w:sdtContent><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr>{runs("Index")}</w:p>'
        f"<w:p>{runs('Scope 1')}</w:p></w:sdtContent></w:sdt>",
    ):
        body.insert(len(body) - 1, parse_xml(xml))
    document.add_heading("Scope", 1)
    document.add_paragraph("This warranty covers the kettle.")
    doc = parse(_write(tmp_path / "toc.docx", _docx_bytes(document)))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Contents"),
        ("heading", "Scope"),
        ("paragraph", "This warranty covers the kettle."),
    ]
    assert doc.title == "Scope"


def test_docx_hidden_text_symbols_and_equations_read_as_word_shows_them(tmp_path: Path) -> None:
    """Hidden text was indexed (a quiz's answer), a symbol dropped ("below 8C" for 8 °C), an
    equation left out entirely."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    m = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'
    document = docx.Document()
    body = document.element.body
    for xml in (
        f"<w:p {w}><w:r><w:t xml:space='preserve'>The answer is </w:t></w:r><w:r><w:rPr><w:vanish/>"
        "</w:rPr><w:t>Lisbon</w:t></w:r><w:r><w:rPr><w:vanish w:val='0'/></w:rPr>"
        "<w:t>left out.</w:t></w:r></w:p>",
        f"<w:p {w}><w:r><w:t>Keep below 8</w:t><w:sym w:font='Symbol' w:char='F0B0'/><w:t>C </w:t>"
        "<w:sym w:font='Symbol' w:char='F0B1'/><w:t>1, </w:t><w:sym w:font='Wingdings' w:char='F0FC'/>"
        "<w:sym w:font='Arial' w:char='20AC'/><w:sym w:font='Webdings' w:char='F0B0'/></w:r></w:p>",
        f"<w:p {w} {m}><w:r><w:t xml:space='preserve'>Load </w:t></w:r><m:oMath><m:r><m:t>k=</m:t></m:r>"
        "<m:f><m:fPr/><m:num><m:r><m:t>F</m:t></m:r></m:num><m:den><m:r><m:t>A</m:t></m:r></m:den></m:f>"
        "</m:oMath><w:r><w:t xml:space='preserve'> per beam.</w:t></w:r></w:p>",
    ):
        body.insert(len(body) - 1, parse_xml(xml))
    doc = parse(_write(tmp_path / "runs.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == [
        "The answer is left out.",
        "Keep below 8°C ±1, ✓€",
        "Load k=F/A per beam.",
    ]


def test_docx_html_embedded_as_an_alt_chunk_is_read(tmp_path: Path) -> None:
    """A tool's export whose text is an embedded HTML page (``w:altChunk``): "no extractable text"."""
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    document = docx.Document()
    document.add_paragraph("Shipping notes.")
    html = b"<html><body><h1>Export</h1><p>The warehouse ships on Mondays.</p></body></html>"
    part = Part(PackURI("/word/afchunk.htm"), "text/html", html, document.part.package)
    relationship = document.part.relate_to(
        part, "http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk"
    )
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    r = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    body = document.element.body
    body.insert(len(body) - 1, parse_xml(f'<w:altChunk {w} {r} r:id="{relationship}"/>'))
    doc = parse(_write(tmp_path / "export.docx", _docx_bytes(document)))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Shipping notes."),
        ("heading", "Export"),
        ("paragraph", "The warehouse ships on Mondays."),
    ]


def _docx_bytes(document: docx.document.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"PK\x03\x04 this is not really a zip file"])
def test_corrupt_docx_is_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(DocumentError, match="corrupt or unreadable DOCX: "):
        parse(_write(tmp_path / "garbage.docx", data))


def _with_document_xml(path: Path, document_xml: bytes) -> bytes:
    """A python-docx file's bytes with its main part replaced."""
    write_docx(path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, document_xml if item.filename == "word/document.xml" else data)
    return buffer.getvalue()


_W_BODY = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'


def test_a_docx_zip_bomb_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_file_mb sees the file's size only: 14 KB of .docx held 5 MB of XML (4,800 chunks), 4 MB
    held 1.5 GB (a MemoryError, said to be a corrupt file)."""
    from petitrag.documents.docx_package import refuse_zip_bomb

    paragraph = b"<w:p><w:r><w:t>" + b"bomb " * 200 + b"</w:t></w:r></w:p>"
    bomb = _with_document_xml(tmp_path / "bomb.docx", _W_BODY + paragraph * 3000 + b"</w:body></w:document>")
    with pytest.raises(
        DocumentError,
        match=r"^DOCX part word/document.xml expands \d+ times \(\d+ KB → 3 MB\): refused as",
    ):
        parse(_write(tmp_path / "bomb.docx", bomb))
    normal = _docx_bytes(docx.Document())
    refuse_zip_bomb(normal)  # an ordinary file passes
    with pytest.raises(
        DocumentError, match=r"^DOCX expands to \d+ KB uncompressed \(over 1 KB\): refused as"
    ):
        parse_bytes(normal, Path("normal.docx"), max_bytes=1024)  # max_file_mb, from ingest
    refuse_zip_bomb(normal)  # and only for that parse
    monkeypatch.setattr(docx, "Document", lambda _: [0] * (1 << 62))  # MemoryError, at once
    with pytest.raises(DocumentError, match=r"^DOCX too large to read in memory$"):
        parse(_write(tmp_path / "large.docx", normal))


def test_docx_text_after_an_entity_reference_is_kept(tmp_path: Path) -> None:
    """ "kumquat &x; end" was indexed "kumquat": the run's text stopped at the reference. The
    entity itself is never resolved (here it would read a file)."""
    secret = _write(tmp_path / "secret.txt", b"confidential salary")
    document_xml = (
        f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'.encode()
        + _W_BODY
        + b"<w:p><w:r><w:t>marker kumquat &x; end</w:t><w:t>&x;</w:t><w:t>&x;tail</w:t></w:r></w:p>"
        + b"</w:body></w:document>"
    )
    doc = parse(_write(tmp_path / "xxe.docx", _with_document_xml(tmp_path / "xxe.docx", document_xml)))
    assert " ".join(doc.text.split()) == "marker kumquat endtail"


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (None, r"it is a PDF: name it \.pdf$"),
        (
            _OLE2 + bytes(500) + "WordDocument".encode("utf-16-le"),
            r"it is an old Word \.doc \(Word 97-2003\)",
        ),
        (_OLE2 + bytes(500), "it is an old Office 97-2003 file"),
        (
            _zip("[Content_Types].xml", "xl/workbook.xml"),
            r"it is an Excel \.xlsx workbook \(not supported\)$",
        ),
        (_zip("notes.txt"), "it is a ZIP archive$"),
        (b"\xef\xbb\xbf<!DOCTYPE html><html><body>Hi</body></html>", "it is an HTML page"),  # a BOM first
    ],
)
def test_a_file_named_docx_that_is_not_one_says_what_it_is(
    tmp_path: Path, data: bytes | None, said: str
) -> None:
    """A PDF, an old .doc or a workbook renamed .docx read "File is not a zip file" or a
    python-docx error cut mid-word."""
    data = data or write_pdf(tmp_path / "real.pdf", ["Un rapport."]).read_bytes()
    with pytest.raises(DocumentError, match=f"^not a Word \\.docx file: {said}"):
        parse(_write(tmp_path / "report.docx", data))


def test_pdf_page_without_short_lines_is_cut_into_reasonable_paragraphs() -> None:
    line = "Une ligne pleine de texte justifié qui ne se termine jamais avant la marge de droite ici."
    blocks = page_blocks("\n".join([line] * 80), page=1)
    assert len(blocks) > 2
    assert all(len(b.text) <= 3200 for b in blocks)


def test_markdown_atx_closing_hashes_are_not_heading_text(tmp_path: Path) -> None:
    doc = parse(_write(tmp_path / "h.md", b"## Langages : C# ##\n\n#\n\nTexte.\n"))
    assert [(b.kind, b.text) for b in doc.blocks] == [("heading", "Langages : C#"), ("paragraph", "Texte.")]
    assert_tiles(doc)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"<!DOCTYPE html><html><body>404 Not Found</body></html>", "it is HTML or XML"),
        (b"PK\x03\x04" + bytes(200), "it is a ZIP archive"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "it is an image"),
    ],
)
def test_a_file_named_pdf_that_is_not_one_says_what_it_is(tmp_path: Path, data: bytes, said: str) -> None:
    """A download saved from a server's error page read "Stream has ended unexpectedly"."""
    with pytest.raises(DocumentError, match=f"not a PDF file \\(no %PDF header; {said}"):
        parse(_write(tmp_path / "report.pdf", data))


def test_a_pdf_header_after_a_few_junk_bytes_is_still_read(tmp_path: Path) -> None:
    good = write_pdf(tmp_path / "good.pdf", ["Après quelques octets."]).read_bytes()
    assert "Après quelques octets." in parse(_write(tmp_path / "junk.pdf", b"\r\n  junk\n" + good)).text


def test_docx_footnotes_and_endnotes_are_indexed_after_the_body(tmp_path: Path) -> None:
    """python-docx reads neither: the date in a footnote was never found."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    document.add_paragraph("Le contrat prend effet à la signature.")
    for kind, note in (("footnote", "Signé le 3 mars 2025 à Lyon."), ("endnote", "Voir l'annexe B.")):
        blob = (
            f'<w:{kind}s {w}><w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r>'
            f'</w:p></w:{kind}><w:{kind} w:id="1"><w:p><w:r><w:t>{note}</w:t></w:r></w:p></w:{kind}>'
            f"</w:{kind}s>"
        ).encode()
        content_type = f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}s+xml"
        part = Part(PackURI(f"/word/{kind}s.xml"), content_type, blob, document.part.package)
        document.part.relate_to(part, getattr(RELATIONSHIP_TYPE, f"{kind.upper()}S"))
    doc = parse(_write(tmp_path / "contrat.docx", _docx_bytes(document)))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Le contrat prend effet à la signature."),
        ("heading", "Notes"),
        ("paragraph", "1. Signé le 3 mars 2025 à Lyon."),
        ("paragraph", "i. Voir l'annexe B."),  # Word's numbering: endnotes i, ii, iii
    ]
    assert doc.title == "contrat"  # not "Notes": the notes' heading is no heading of the file's
    assert_tiles(doc)


def test_docx_footnotes_are_numbered_in_the_order_the_text_cites_them(tmp_path: Path) -> None:
    """Word shows a note's number from where the text refers to it, not from its internal id
    (a note added later between two others keeps a higher id)."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    for text, note_id in (("Premier renvoi", "7"), ("Second renvoi", "3")):
        paragraph = document.add_paragraph(text)
        paragraph._p.append(parse_xml(f'<w:r {w}><w:footnoteReference w:id="{note_id}"/></w:r>'))
    notes = "".join(
        f'<w:footnote w:id="{note_id}"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:footnote>'
        for note_id, text in (("3", "Note du second."), ("7", "Note du premier."))
    )
    content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
    blob = f"<w:footnotes {w}>{notes}</w:footnotes>".encode()
    part = Part(PackURI("/word/footnotes.xml"), content_type, blob, document.part.package)
    document.part.relate_to(part, RELATIONSHIP_TYPE.FOOTNOTES)
    doc = parse(_write(tmp_path / "renvois.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks][-2:] == ["1. Note du premier.", "2. Note du second."]


def test_docx_text_boxes_are_read_once_after_their_paragraph(tmp_path: Path) -> None:
    """A flyer's words in text boxes were never indexed; Word writes each box twice (DrawingML
    and a VML fallback), and a box may hold another."""
    ns = (
        'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    )

    def box(*paragraphs: str) -> str:
        return "<w:txbxContent>" + "".join(paragraphs) + "</w:txbxContent>"

    def para(text: str, inner: str = "") -> str:
        return f"<w:p><w:r><w:t>{text}</w:t></w:r><w:r><w:drawing>{inner}</w:drawing></w:r></w:p>"

    content = box(para("Inscription avant le 15 juin.", box(para("Tarif réduit : 12 euros."))))
    document = docx.Document()
    paragraph = document.add_paragraph("Fête du quartier.")
    paragraph._p.append(
        parse_xml(
            f'<w:r {ns}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>{content}</w:drawing>'
            f"</mc:Choice><mc:Fallback><w:pict>{content}</w:pict></mc:Fallback></mc:AlternateContent></w:r>"
        )
    )
    document.add_paragraph("Venez nombreux.")
    doc = parse(_write(tmp_path / "fete.docx", _docx_bytes(document)))
    assert [b.text for b in doc.blocks] == [
        "Fête du quartier.",
        "Inscription avant le 15 juin.",
        "Tarif réduit : 12 euros.",
        "Venez nombreux.",
    ]


def test_a_docx_whose_main_part_has_another_name_is_word() -> None:
    """python-docx finds the main part through _rels/.rels: "word/document2.xml" is a .docx too."""
    from petitrag.documents.base import file_kind

    assert (file_kind(_zip("[Content_Types].xml", "word/document2.xml")) or "").startswith("a Word .docx")


def test_forms_and_sidebars_beside_the_content_stay_out(tmp_path: Path) -> None:
    """A login form with its own heading, a newsletter box, a sidebar <aside> inside <main>: a
    form holding a heading, or an aside anywhere in <main>, was indexed as content."""
    rule = "<p>Leave days not taken by the end of March of the following year are lost for good.</p>"
    html = (
        "<html><body><main><article><h1>Holiday policy</h1>"
        + rule * 3
        + "</article><aside><h2>Related articles</h2><p>Share on LinkedIn, Twitter or by email with "
        "your colleagues today.</p></aside></main>"
        '<form action="/login"><h2>Sign in to your account</h2><label>Username</label><input name="u">'
        "<p>Forgot your password? Contact the IT helpdesk to reset it.</p><button>Log in</button></form>"
        "</body></html>"
    )
    text = parse(_write(tmp_path / "holidays.html", html.encode())).text
    assert "Holiday policy" in text and "lost for good" in text
    for boilerplate in ("Related articles", "Share on LinkedIn", "Sign in", "Forgot your password"):
        assert boilerplate not in text


def test_a_script_inside_a_markdown_html_block_is_no_text(tmp_path: Path) -> None:
    """Only a block opening with <script> went whole: one inside a <div> was indexed as text."""
    source = "# Tool\n\n<div>\n<script>var secret = 1; track(secret)</script>\n<p>Visible text.</p>\n</div>\n"
    text = parse(_write(tmp_path / "readme.md", source.encode())).text
    assert "Visible text." in text and "track" not in text and "var" not in text


def _with_text_fields(source: Path, target: Path, fields: list[tuple[str, str, float]]) -> Path:
    """``source`` with filled text fields (name, value, height on the page) on its first page."""
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(source))
    page = writer.pages[0]
    widgets = ArrayObject()
    for name, value, height in fields:
        widget = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Widget"),
                NameObject("/FT"): NameObject("/Tx"),
                NameObject("/T"): TextStringObject(name),
                NameObject("/V"): TextStringObject(value),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (200, height, 400, height + 20)]),
            }
        )
        widgets.append(writer._add_object(widget))
    page[NameObject("/Annots")] = widgets
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({NameObject("/Fields"): widgets})
    writer.write(target)
    return target


def test_pdf_form_field_values_are_text(tmp_path: Path) -> None:
    """A filled leave request lost what was typed in it: pypdf's text is only what the page draws."""
    form = write_pdf(tmp_path / "blank.pdf", ["Demande de congé\n\nNom de l'employé :\n\nDates :"])
    fields = [("dates", "du 4 au 15 août 2024", 700.0), ("Nom", "Marie Dupont", 750.0)]
    doc = parse(_with_text_fields(form, tmp_path / "filled.pdf", fields))
    assert doc.text.endswith("Nom: Marie Dupont\n\ndates: du 4 au 15 août 2024")  # top to bottom
    assert "Demande de congé" in doc.text


def test_pdf_soft_hyphen_at_a_line_end_joins_the_word(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    for line in ["Le service de gestion de l'infor\xad", "mation traite les demandes chaque semaine."]:
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "soft.pdf"))
    assert "l'information traite" in parse(tmp_path / "soft.pdf").text


def test_markdown_text_reads_as_a_viewer_shows_it(tmp_path: Path) -> None:
    """Character references and inline tags were indexed as written: "thé" never found
    "th&eacute;", and ``<span style=…>`` filled passages with attributes."""
    source = (
        "# Menu &amp; prix\n\n"
        "Le caf&eacute; co&ucirc;te 2&nbsp;&euro;, le th&#233; 3&nbsp;&euro; (R&D, AT&T, &copyright;).\n"
        '<span style="color:red">Attention</span> : le badge<br>est <b>personnel</b>, '
        "l'infor&shy;mation aussi, voir <https://example.com/a>.\n\n"
        "Tapez `&amp;` ou `<b>` dans le champ.\n\n```html\n<b>gras</b> &amp;\n```\n"
    )
    doc = parse(_write(tmp_path / "menu.md", source.encode()))
    texts = [block.text for block in doc.blocks]
    assert texts[:2] == [
        "Menu & prix",
        "Le café coûte 2 €, le thé 3 € (R&D, AT&T, &copyright;).\nAttention : le badge est personnel, "
        "l'information aussi, voir <https://example.com/a>.",
    ]
    assert texts[2] == "Tapez `&amp;` ou `<b>` dans le champ."  # code is the content
    assert "<b>gras</b> &amp;" in texts[3] and doc.title == "Menu & prix"


def test_markdown_tags_with_quoted_brackets_and_escaped_references(tmp_path: Path) -> None:
    """``<span title="a>b">`` stayed in the text (its tag was cut at the quoted ">"), and
    ``\\&amp;`` read "\\&" where a viewer shows "&amp;"."""
    source = (
        'A <span title="a>b">tagged</span> word, 3 < 5 and x<y isn\'t <b>bold</b>.\n'
        "Write \\&amp; or \\\\&amp; here.\n"
    )
    doc = parse(_write(tmp_path / "tags.md", source.encode()))
    assert doc.text == "A tagged word, 3 < 5 and x<y isn't bold.\nWrite &amp; or \\\\& here.\n"


def test_markdown_images_read_as_their_alt_text_never_their_address(tmp_path: Path) -> None:
    """A screenshot pasted as a base64 ``data:`` URI became 875 chunks of junk."""
    shot = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB" * 2000
    source = (
        f"# Bug\n\nThe button freezes.\n\n![login screen]({shot})\n\n"
        f'See ![the logo](img/logo.png "Logo") here.<img src="{shot}" alt="error box">\n\n'
        f"<div><img alt='plan' src=\"{shot}\"></div>\n\n"
        "![two\nlines](<a b.png>\n'title') end, `![code](x.png)` and \\![escaped](y.png).\n"
    )
    doc = parse(_write(tmp_path / "bug.md", source.encode()))
    assert [block.text for block in doc.blocks] == [
        "Bug",
        "The button freezes.",
        "login screen",
        "See the logo here.",
        "two\nlines\n end, `![code](x.png)` and \\![escaped](y.png).",
    ]
    assert_tiles(doc)


def test_markdown_code_spans_close_on_a_run_of_their_own_length(tmp_path: Path) -> None:
    """Code spans keep what they hold, a comment included; an unmatched run is text."""
    source = (
        "Use `<!-- a -->` or ``x ` <!-- b --> y`` here <!-- gone -->.\n\n"
        "A ``` run alone <!-- gone too --> and `one\n\nblank line` <!-- x -->.\n"
    )
    doc = parse(_write(tmp_path / "spans.md", source.encode()))
    assert [block.text for block in doc.blocks] == [
        "Use `<!-- a -->` or ``x ` <!-- b --> y`` here  .",
        "A ``` run alone   and `one",
        "blank line`  .",
    ]


def test_markdown_backticks_and_spaces_take_linear_time(tmp_path: Path) -> None:
    """4,000 backticks took 369 s (each start × each opening length × each position after
    it), a line of 100,000 spaces not ending a line 74 s: here it is instant."""
    ticks = parse(_write(tmp_path / "ticks.md", ("# T\n\n" + "`" * 4000 + "\n").encode()))
    assert ticks.blocks[1].text == "`" * 4000
    spaces = parse(_write(tmp_path / "spaces.md", ("a" + " " * 100_000 + "b <!-- c -->  \nd").encode()))
    assert spaces.text == "a" + " " * 100_000 + "b\nd"


def test_markdown_unclosed_processing_instructions_are_text(tmp_path: Path) -> None:
    """Each unclosed "<?" was scanned to the file's end (quadratic: 240 KB of them took minutes);
    closed ones and declarations are still left out."""
    doc = parse(
        _write(
            tmp_path / "pi.md",
            ("# T\n\nA <?php echo 1; ?> B <!DOCTYPE html> C\n\n" + "<? " * 40_000).encode(),
        )
    )
    assert doc.blocks[1].text == "A  B  C" and doc.blocks[2].text.count("<?") == 40_000


def test_docx_without_core_properties_takes_its_first_heading_as_title(tmp_path: Path) -> None:
    """Without docProps/core.xml python-docx makes up the title "Word Document"."""
    full = write_docx(tmp_path / "full.docx")
    bare = tmp_path / "bare.docx"
    with zipfile.ZipFile(full) as source, zipfile.ZipFile(bare, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "docProps/core.xml":
                continue
            if item.filename == "_rels/.rels":  # the relationship to it goes too
                data = re.sub(rb"<Relationship [^>]*core-properties[^>]*/>", b"", data)
            target.writestr(item, data)
    assert parse(bare).title == "Politique de télétravail"


def test_html_page_header_holding_the_only_h1_is_the_title_of_the_content(tmp_path: Path) -> None:
    """A page-level <header> went whole, the page's title and its date of update with it."""
    html = (
        "<!DOCTYPE html><html><head><title>Club de tennis</title></head><body>"
        "<header><nav><a href='/'>Accueil</a> <a href='/club'>Le club</a></nav><h1>Règlement du club</h1>"
        "<p>Mis à jour le 2 février 2024 par le bureau.</p></header>"
        "<section><h2>Réservations</h2><p>Les courts se réservent 48 heures à l'avance sur le site.</p>"
        "</section><footer><p>Club de tennis de Villeneuve, tél. 01 02 03 04 05</p></footer></body></html>"
    )
    doc = parse(_write(tmp_path / "club.html", html.encode()))
    assert [(b.kind, b.text) for b in doc.blocks][:3] == [
        ("heading", "Règlement du club"),
        ("paragraph", "Mis à jour le 2 février 2024 par le bureau."),
        ("heading", "Réservations"),
    ]
    assert "Accueil" not in doc.text and "Villeneuve" not in doc.text
    site_banner = html.replace("<h2>Réservations</h2>", "<h1>Réservations</h1>")  # the page's own h1
    assert "Règlement" not in parse(_write(tmp_path / "banner.html", site_banner.encode())).text


def test_html_pre_keeps_its_lines_and_templates_are_not_text(tmp_path: Path) -> None:
    """trafilatura read a <pre> without <code> as one line, and kept a <template>'s text."""
    sentence = "Cette procédure décrit l'installation du serveur interne avant la mise en production. "
    html = (
        "<html><head><title>Installation</title></head><body><main><article><h1>Installation</h1>"
        f"<p>{sentence * 3}</p><p>Copiez ce fichier dans /etc/app.conf :</p>"
        "<pre>\n[server]\nport = 8080\nhost = 0.0.0.0\n</pre>"
        f"<template><p>Modèle invisible de ligne</p></template><p>{sentence * 3}</p>"
        "</article></main></body></html>"
    )
    doc = parse(_write(tmp_path / "install.html", html.encode()))
    assert ("code", "[server]\nport = 8080\nhost = 0.0.0.0") in [(b.kind, b.text) for b in doc.blocks]
    assert "Modèle invisible" not in doc.text


def test_html_unclosed_pre_and_template_tags_take_linear_time() -> None:
    """100 KB of unclosed ``<pre>`` took 15 s to parse: each one read the rest of the page
    (here 400 KB, minutes before); nested or shared tags still read as before."""
    assert code_in_bare_pre("<pre>" * 80_000) == "<pre>" * 80_000
    assert without_templates("<template>" * 40_000 + "a") == "<template>" * 40_000 + "a"
    assert code_in_bare_pre("<pre a='<pre>'>x</pre><PRE>\n <code>y</pre><pre <pre>z</pre >") == (
        "<pre a='<pre><code>'>x</code></pre><PRE>\n <code>y</pre><pre <pre><code>z</code></pre >"
    )
    assert without_templates("a<template><template>b</TEMPLATE >c</template>d<template>") == (
        "ac</template>d<template>"
    )


def test_pdf_dash_aside_after_a_wrapped_line_is_no_list(tmp_path: Path) -> None:
    """A wrapped line opening with a dash aside started a list in mid-sentence."""
    lines = [
        "Le comité a décidé, après une longue discussion avec les représentants du personnel",
        "- et malgré l'opposition de deux membres du bureau sortant - de reporter le vote du",
        "budget au mois de septembre prochain.",
        "",
        "Documents requis :",
        "- une pièce d'identité en cours de validité,",
        "- un justificatif de domicile.",
    ]
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    for line in lines:
        pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "cr.pdf"))
    blocks = [(b.kind, b.text) for b in parse(tmp_path / "cr.pdf").blocks]
    assert blocks[0][0] == "paragraph" and "personnel - et malgré" in blocks[0][1]
    assert "septembre prochain." in blocks[0][1]
    assert ("list", "- une pièce d'identité en cours de validité,\n- un justificatif de domicile.") in blocks


def test_html_cells_spanning_rows_stay_in_their_column(tmp_path: Path) -> None:
    """A rowspan cell moved the next row's cells one column left ("| mardi |  |")."""
    html = (
        "<html><body><h1>Permanences</h1><table><tr><th>Site</th><th>Jour</th><th>Heure</th></tr>"
        "<tr><td rowspan='2'>Lyon</td><td>lundi</td><td rowspan='3'>9 h</td></tr>"
        "<tr><td>mardi</td></tr><tr><td>Paris</td><td>jeudi</td></tr></table></body></html>"
    )
    table = next(
        b.text for b in parse(_write(tmp_path / "p.html", html.encode())).blocks if b.kind == "table"
    )
    assert table.splitlines()[2:] == [
        "| Lyon | lundi | 9 h |",
        "| Lyon | mardi | 9 h |",
        "| Paris | jeudi | 9 h |",
    ]


def test_docx_headers_and_footers_are_text_once_page_numbers_aside(tmp_path: Path) -> None:
    """python-docx reads neither: a file reference in the header was found by no search."""
    document = docx.Document()
    document.add_heading("Politique", level=1)
    document.add_paragraph("Texte du corps.")
    document.add_section()  # a second section, its header linked to the first: said once
    document.add_paragraph("Suite du corps.")
    first = document.sections[0]
    first.header.is_linked_to_previous = False
    first.header.paragraphs[0].text = "Référence dossier : RH-2024-117"
    first.footer.is_linked_to_previous = False
    first.footer.paragraphs[0].text = "Page 1 sur 3"
    document.save(str(tmp_path / "h.docx"))
    blocks = [(block.kind, block.text) for block in parse(tmp_path / "h.docx").blocks]
    assert blocks[-1] == ("paragraph", "Référence dossier : RH-2024-117")
    assert sum("RH-2024-117" in text for _, text in blocks) == 1 and not any("sur 3" in t for _, t in blocks)


def test_docx_footer_years_and_dates_are_no_page_numbers(tmp_path: Path) -> None:
    """A footer reading "2024" or "12 / 2024" was dropped as a page number."""
    document = docx.Document()
    document.add_paragraph("Texte du corps.")
    footer = document.sections[0].footer
    footer.is_linked_to_previous = False
    footer.paragraphs[0].text = "2024"
    for line in ("3", "Page 3 of 12", "- 3 -", "3/12", "12 / 2024", "p. 7"):
        footer.add_paragraph(line)
    blocks = parse(_write(tmp_path / "f.docx", _docx_bytes(document))).blocks
    assert blocks[-1].text == "2024\n12 / 2024"


def test_pdf_word_hyphenated_across_a_page_break_is_whole(tmp_path: Path) -> None:
    """ "l'infor-" ending page 1 and "mation" opening page 2: neither half was found by a search."""
    doc = parse(
        write_pdf(
            tmp_path / "p.pdf",
            ["Le service de gestion de l'infor-", "mation traite les demandes chaque semaine.", "Jean-"],
        )
    )
    assert "l'information" in doc.text and "mation traite" not in doc.text
    assert [block.page for block in doc.blocks if "information" in block.text] == [1]


@pytest.mark.parametrize(
    "footer",
    [
        "Northwind Logistics - Employee Handbook 2024 - Page {n}",
        "ACME Corporation Internal Handbook - page {n} of 4",
    ],
)
def test_pdf_long_page_number_footers_are_left_out(tmp_path: Path, footer: str) -> None:
    """Over 40 characters, a footer was compared word for word: "…Page 1" and "…Page 2" never
    matched, and each landed mid-sentence ("…completed the driver Northwind Logistics - …")."""
    pages = [f"{_body(n)} {_body(n)}\n{footer.format(n=n)}" for n in range(1, 5)]
    doc = parse(write_pdf(tmp_path / "footer.pdf", pages))
    assert [(b.page, b.text) for b in doc.blocks] == [(n, f"{_body(n)} {_body(n)}") for n in range(1, 5)]


def test_pdf_long_lines_numbered_like_their_page_inside_the_text_are_kept(tmp_path: Path) -> None:
    """A long line that differs from page to page only by a number is a page number only at the
    page's very top or bottom: inside the text it is content."""
    line = "The inspection of the north warehouse covered building {n} of the site"
    pages = [f"{_body(n)}\n{line.format(n=n)}\n{_body(n)}" for n in range(1, 5)]
    doc = parse(write_pdf(tmp_path / "inspection.pdf", pages))
    assert all(line.format(n=n) in doc.text for n in range(1, 5))


def _two_page_report(path: Path, header: str, footer: str) -> Path:
    class Report(FPDF):
        def header(self) -> None:
            self.set_font("helvetica", size=8)
            self.cell(0, 5, header)
            self.ln(10)

        def footer(self) -> None:
            self.set_y(-14)
            self.set_font("helvetica", size=8)
            self.cell(0, 5, footer.format(n=self.page_no()))

    pdf = Report()
    for n in (1, 2):
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, f"{_body(n)} {_body(n)}")
    pdf.output(str(path))
    return path


def test_pdf_running_lines_of_a_two_page_document_are_left_out(tmp_path: Path) -> None:
    """Running lines were looked for on three pages at least: "Helios Solar plc | Q3 2024 | 1"
    ended page 1's last passage, and page 2's header was a passage of its own."""
    header = "Helios Solar plc - Interim Report Q3 2024"
    doc = parse(_two_page_report(tmp_path / "report.pdf", header, "Helios Solar plc | Q3 2024 | {n}"))
    assert [(b.page, b.text) for b in doc.blocks] == [
        (1, header),
        *((n, f"{_body(n)} {_body(n)}") for n in (1, 2)),
    ]


def test_pdf_lines_repeated_elsewhere_on_two_pages_are_kept(tmp_path: Path) -> None:
    """Of two pages, a line is running only in the same place on both: a reminder closing page 1
    and opening page 2 is the text's own."""
    reminder = "Bring your badge."
    doc = parse(write_pdf(tmp_path / "memo.pdf", [f"{_body(1)}\n{reminder}", f"{reminder}\n{_body(2)}"]))
    assert doc.text.count(reminder) == 2


_LEAVE = (
    "Full-time employees are entitled to twenty-five days of paid annual leave per calendar year, "
    "and requests for more than ten consecutive days must be made at least four weeks in advance."
)
_SICK = "If you are ill, inform your line manager by phone before ten on the first day of absence."


def _handbook(path: Path, bookmarks: bool) -> Path:
    """Headings in a larger bold font, each after a paragraph whose last line is full."""
    pdf = FPDF()
    pdf.add_page()
    for title, body in (("Annual leave", _LEAVE), ("Sick leave", _SICK)):
        if bookmarks:
            pdf.start_section(title)
        pdf.set_font("helvetica", "B", 14)
        pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 5, body, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "B", 10)
    pdf.multi_cell(0, 5, "Length of service Notice period", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5, "Less than 2 years 1 month", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_headings_without_bookmarks_are_found_by_their_font(tmp_path: Path) -> None:
    """Without bookmarks, a heading after a full-width line was glued to the paragraph
    ("…at least four weeks in advance. Sick leave") and no passage had a section."""
    doc = parse(_handbook(tmp_path / "handbook.pdf", bookmarks=False))
    blocks = [(b.kind, b.text, b.level) for b in doc.blocks]
    assert blocks == [
        ("heading", "Annual leave", 1),
        ("paragraph", _LEAVE, 0),
        ("heading", "Sick leave", 1),
        ("paragraph", _SICK, 0),
        ("paragraph", "Length of service Notice period", 0),  # bold at the body's size: a table's header
        ("paragraph", "Less than 2 years 1 month", 0),
    ]
    chunks = Chunker(lambda text: len(words(text)), budget=40, overlap=0).chunk(doc)
    assert {chunk.section for chunk in chunks if "line manager" in chunk.text} == {"Sick leave"}


def test_pdf_bookmarks_name_the_headings_their_font_sets_apart(tmp_path: Path) -> None:
    """With bookmarks, they make the headings (never twice); a bold line is still kept apart: a
    table's header row was glued to the paragraph before ("…day of absence. Length of service…")."""
    doc = parse(_handbook(tmp_path / "handbook.pdf", bookmarks=True))
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Annual leave"),
        ("paragraph", _LEAVE),
        ("heading", "Sick leave"),
        ("paragraph", _SICK),
        ("paragraph", "Length of service Notice period"),
        ("paragraph", "Less than 2 years 1 month"),
    ]
