"""The image engine: write the disk a Plan describes, and read images back.

    engine.image.build.build(plan, output, *, fmt="raw", root_tree=None, seed=None,
                             progress=None) -> BuildReport
    engine.image.inspect.inspect(path) -> InspectReport

The package re-exports nothing, so that `engine.image.build` and
`engine.image.inspect` stay the modules (tests patch inside them). No UI
library is imported here: the CLI and the TUI call these.
"""
