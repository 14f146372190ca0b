"""``petitrag`` and ``python -m petitrag``: the CLI, with Ctrl-C as one line and exit status 130
even while the CLI's modules are still importing (a traceback of 21 lines otherwise)."""

import sys

INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def main() -> None:
    try:
        from petitrag.cli import main as cli_main

        cli_main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(INTERRUPTED)


if __name__ == "__main__":
    main()
