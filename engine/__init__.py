"""partwright engine: KIWI layout planning, images and COW overlays.

The engine is headless: it imports no UI library (textual, rich). The TUI
(`tui/`) and the command line (`partwright/`) are thin callers of it.
"""
