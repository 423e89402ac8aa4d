"""The local machine, shared by kiwi, image and cow.

- `atomic`: outputs that appear complete or not at all (O_TMPFILE + linkat)
- `sparse`: SEEK_DATA/SEEK_HOLE extents, copies, hole punching, FIEMAP
- `tools`: running the external tools (mkfs, sfdisk, qemu-img ...), each in
  its own process group
- `scratch`: working directories that the next run removes once their
  owner is dead
- `signals`: SIGINT, SIGTERM and SIGHUP as a clean stop
- `progress`: the progress callback and its counter
- `kernel`: what the running kernel offers (device-mapper, md, loop devices)
- `root_tree`: a root tree measured as KIWI measures it

Nothing here knows about layouts, plans or images.
"""

__all__ = ["atomic", "kernel", "progress", "root_tree", "scratch", "signals", "sparse", "tools"]
