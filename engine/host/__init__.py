"""The local machine, shared by kiwi, image and cow.

- `sparse`: SEEK_DATA/SEEK_HOLE extents, copy_file_range, hole punching
- `tools`: running the external tools (mkfs, sfdisk, qemu-img ...)
- `kernel`: what the running kernel offers (device-mapper, md, loop devices)
- `root_tree`: a root tree measured as KIWI measures it

Nothing here knows about layouts, plans or images.
"""

__all__ = ["kernel", "root_tree", "sparse", "tools"]
