"""The build's LUKS, LVM and md RAID partitions: what build.py calls
through four small hooks.

    plan_containers(plan, ident, specs) -> (containers, specs, plain_specs)
    check_inputs(containers, root_tree)
    make_containers(image, containers, ident, workdir, contents)
    clone_containers(image, containers, ident, workdir) -> {partition: bytes copied}
    verify_containers(image, containers, plain_specs, workdir) -> checks

- `plan`: which partitions are containers and what they hold
- `make`: the origins made, the clones copied and given their own identifiers
- `verify`: read back before the image is named

`specs` (returned) is every filesystem for staging, fstab and the report;
`plain_specs` leaves out the ones inside containers, which the generic
mkfs/clone/verify steps must not touch.
"""

from engine.image.containers.make import clone_containers, make_containers
from engine.image.containers.plan import Container, LvSpec, check_inputs, plan_containers
from engine.image.containers.verify import verify_containers

__all__ = ["Container", "LvSpec", "check_inputs", "clone_containers", "make_containers",
           "plan_containers", "verify_containers"]
