"""`petitrag collections` and `petitrag documents`: what is indexed, and taking it out again.

Removing touches the index only: the user's files stay where they are. The exceptions are files
petitrag itself holds: uploads made through the server, deleted with their collection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from petitrag.cli import _Group, cli, err, out, settings_from


@cli.group(cls=_Group, invoke_without_command=True, short_help="List collections, or delete one.")
@click.pass_context
def collections(ctx: click.Context) -> None:
    """List collections with their embedder and size (`collections delete NAME` deletes one)."""
    if ctx.invoked_subcommand is not None:
        return
    from petitrag.app import open_app
    from petitrag.report import print_collections

    settings = settings_from(ctx)
    with open_app(settings) as app:
        print_collections(out, app.store, settings)


class _NamesCommand(click.Command):
    """A command whose arguments are names: a collection or file named "-x" read as an option
    ("No such option: -x"); the message now says how to give it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given_args = list(args)  # click's parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            given = next((arg for arg in given_args if arg.startswith(exc.option_name)), exc.option_name)
            exc.message += f" If it is a name, put -- before it: `{ctx.command_path} -- {given}`"
            raise


@collections.command("delete", cls=_NamesCommand)
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.pass_context
def collections_delete(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete collection NAME from the index (its source files are kept; files uploaded to the
    server, which petitrag holds, are deleted with it)."""
    from petitrag.app import delete_collection, open_app
    from petitrag.index.locks import collection_lock
    from petitrag.report import counted

    settings = settings_from(ctx)
    with open_app(settings) as app:
        app.store.require_collection(name)  # so the folders deleted below are a collection's
        stats = app.store.stats(name)
        uploads = settings.uploads_dir(name)
        uploaded = sum(1 for path in uploads.iterdir() if path.is_file()) if uploads.is_dir() else 0
        also = f" and the {counted(uploaded, 'file')} uploaded to the server ({uploads})" if uploaded else ""
        err.print(
            f"delete collection {escape(name)}: {counted(stats['documents'], 'document')}, "
            f"{counted(stats['chunks'], 'chunk')}{escape(also)}; source files are kept",
            highlight=False,
        )
        if not yes:
            with collection_lock(settings.home, name, "delete"):
                pass  # busy now: said before asking, not after the user said yes
            click.confirm("Delete?", abort=True, err=True)
        delete_collection(app.store, settings, name)
    err.print(f"[green]ok:[/] deleted collection {escape(name)}", highlight=False)


@cli.group(
    cls=_Group, invoke_without_command=True, short_help="List a collection's documents, or remove some."
)
@click.option("-c", "--collection", help="Collection to list [default: default].")
@click.pass_context
def documents(ctx: click.Context, **flags: Any) -> None:
    """List the documents of a collection (`documents remove SOURCE` takes one out)."""
    if ctx.invoked_subcommand is not None:
        return
    from petitrag.app import open_app
    from petitrag.report import display_path

    settings = settings_from(ctx, **flags)
    with open_app(settings) as app:
        app.store.require_collection(settings.collection)
        found = app.store.documents(settings.collection)
        for document in found:
            path = escape(display_path(document.path))  # a file may be named "[bold] notes.txt"
            out.print(f"{path}  [dim]{document.size:,} bytes[/]", highlight=False)
    if not found:  # on stderr: a script reading the list gets an empty one
        err.print(f"no document in collection '{escape(settings.collection)}'", highlight=False)


@documents.command("remove", cls=_NamesCommand)
@click.argument("sources", nargs=-1, required=True)
@click.option("-c", "--collection", help="Collection to remove from [default: default].")
@click.pass_context
def documents_remove(ctx: click.Context, sources: tuple[str, ...], collection: str | None) -> None:
    """Take SOURCES (paths, or unique ends of paths as `documents` lists them, or folders: all
    their documents) out of the index;
    the files themselves are kept (but for uploads to the server, petitrag's copies). Nothing is
    removed unless every SOURCE is found."""
    from petitrag.app import open_app, remove_documents
    from petitrag.report import counted, display_path

    collection = collection or (ctx.parent.params.get("collection") if ctx.parent else None)
    settings = settings_from(ctx, collection=collection)
    with open_app(settings) as app:
        found = [path for source in sources for path in _paths_of(app.store, settings.collection, source)]
        paths = list(dict.fromkeys(found))
        removed = remove_documents(app.store, settings, settings.collection, paths)
    for path in paths:
        err.print(f"removed {escape(display_path(path))}", highlight=False)
    err.print(
        f"[green]ok:[/] {counted(removed, 'document')} removed from {escape(settings.collection)}",
        highlight=False,
    )
    if any(Path(path).exists() for path in paths):
        err.print(
            "note: ingesting their folder again adds them back (move the files out of it to keep them out)"
        )


def _paths_of(store: Any, collection: str, source: str) -> list[str]:
    """The document ``source`` names or, for a folder path, every document under it (a folder
    deleted or no longer mounted: ingest --prune keeps them, this is how they go)."""
    folder = os.path.abspath(Path(source).expanduser()) + os.sep
    if store.document(collection, folder.rstrip(os.sep)) is None and store.has_documents_under(
        collection, folder
    ):
        return [document.path for document in store.documents(collection) if document.path.startswith(folder)]
    return [store.find_document(collection, source).path]
