"""``python -m voxode.cli``: the ``voxode`` command."""

from voxode.cli import main

main()
