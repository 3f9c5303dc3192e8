"""The package is layered: a module imports only from its own layer or the layers below it, and no cycle joins packages."""

from __future__ import annotations

from tests.imports import all_modules, imports_of

# Lowest first. A module may import from its own layer and from those before it.
LAYERS = [
    {"", "paths", "io", "errors", "numerics"},  # the base ("" is the package's own __init__)
    {"config"},
    {"contract"},
    {"data"},
    {"modeling"},
    {"evaluation"},
    # The stages on Dask: above the stages' own modules, which it runs partition by partition.
    {"compute"},
    {"registry"},
    # Under serving: the server measures its live window with the monitor's own counts and distances;
    # under review: a data update's report measures the drift between versions with them.
    {"monitoring"},
    {"review"},
    {"serving"},
    {"rollout"},
    {"retrain"},
    {"cli", "__main__"},
]


def room(module: str) -> str:
    """The top-level part of the package a module belongs to (`pkg.data.ingest` -> `data`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> int:
    """The layer of `module`'s room, or an error for a room the list above does not place."""
    found = [index for index, rooms in enumerate(LAYERS) if room(module) in rooms]
    assert found, f"{module} is in {room(module)!r}, which no layer holds: add it to LAYERS"
    return found[0]


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = sorted(
        f"{module} imports {imported}"
        for module in all_modules()
        for imported in imports_of(module)
        if layer(imported) > layer(module)
    )
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)


def test_the_graph_of_packages_has_no_cycle() -> None:
    edges = {room(module): set() for module in all_modules()}
    for module in all_modules():
        edges[room(module)] |= {room(imported) for imported in imports_of(module)} - {room(module)}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        assert node not in visiting, f"a cycle of packages: {' -> '.join([*visiting[visiting.index(node) :], node])}"
        if node in done:
            return
        visiting.append(node)
        for target in sorted(edges[node]):
            visit(target)
        visiting.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)


def test_the_layers_name_every_room_of_the_package() -> None:
    assert {room(module) for module in all_modules()} <= set().union(*LAYERS)
