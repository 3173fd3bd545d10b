"""File formats: atomic writes, npz electrodes, TIFF stacks, VTK images."""
