"""File formats: TIFF stacks, VTK images, tables, figures (atomic writes are in :mod:`voxode.atomic`)."""
