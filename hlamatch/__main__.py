"""``python -m hlamatch``: the command-line interface."""

from hlamatch.cli import main

if __name__ == "__main__":
    main()
