"""``python -m voxode``: the ``voxode`` command."""

from voxode.cli import main

main()
