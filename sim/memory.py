"""Memory a run will need, estimated before it starts, so that too large a population is refused
up front with a one-line message instead of an out-of-memory crash half-way.

Per-person figures were measured on this project's engines (tracemalloc for the Mesa engine,
peak RSS at 10 million urban residents for the vectorized engine) and rounded up:

- Mesa engine: about 2.6 KB per agent (objects, neighbour lists, networkx graph) at peak;
- vectorized engine: about 60 bytes of state per urban resident plus 16 bytes per unit of the
  urban degree (edge lists and CSR while the network is built), 200 bytes per local resident,
  and a fixed 0.4 GiB for the interpreter, numpy and compiled kernels.
"""

from __future__ import annotations

from pathlib import Path

from sim.params import Config

GIB = 2**30
MESA_BYTES_PER_AGENT = 3_000
VEC_STATE_BYTES = 60
VEC_BYTES_PER_DEGREE = 16
LOCAL_BYTES = 200
FIXED_BYTES = int(0.4 * GIB)


def estimate_bytes(cfg: Config) -> int:
    """Peak memory of a run of ``cfg`` with its engine, in bytes."""
    n = cfg.population.urban
    locals_ = cfg.population.locals_per_region * cfg.regions.count
    if cfg.engine == "mesa":
        return FIXED_BYTES + MESA_BYTES_PER_AGENT * (n + locals_)
    per_person = VEC_STATE_BYTES + VEC_BYTES_PER_DEGREE * cfg.network.urban_k
    return FIXED_BYTES + per_person * n + LOCAL_BYTES * locals_


def available_bytes() -> int | None:
    """Memory the machine can give now (MemAvailable), or None where /proc/meminfo is absent."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(cfg: Config) -> None:
    """Raise ValueError (one line: estimate and limit) if the run would not fit in memory."""
    need = estimate_bytes(cfg)
    limit = int(cfg.run.max_memory_gib * GIB)
    what = "run.max_memory_gib"
    avail = available_bytes()
    if avail is not None and avail < limit:
        limit, what = avail, "memory available on this machine"
    if need > limit:
        hint = "engine=vectorized or fewer people" if cfg.engine == "mesa" else "fewer people or more memory"
        raise ValueError(f"population.urban: {cfg.population.urban:,} urban residents with engine={cfg.engine} need "
                         f"about {need / GIB:,.1f} GiB, over the limit of {limit / GIB:,.1f} GiB ({what}); "
                         f"allowed: {hint}")
