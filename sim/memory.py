"""Memory a run will need, estimated before it starts, so that too large a population is refused
up front with a one-line message instead of an out-of-memory crash half-way.

The figures are peak resident memory measured on this project's engines (baseline scenario, default
network, 3 weeks; Python 3.11, numpy 2.4, numba 0.68), each run in its own process started from a
small one (a child's ``ru_maxrss`` includes its parent's peak on Linux), then rounded up:

- fixed: interpreter, numpy, pandas, Hydra, numba kernels: 0.24 GiB when the compiled kernels are
  cached, 0.32 GiB on a first run that compiles them; 0.4 GiB assumed;
- Mesa engine: 2.25 KB per urban resident at urban_k = 8 and +0.8 KB at urban_k = 16 (N = 20,000
  and 40,000): agent objects, their neighbour lists and the networkx graph. Assumed: 1,600 bytes per
  agent plus 100 bytes per tie end, for urban residents and locals alike;
- vectorized engine: 84-90 bytes per urban resident at urban_k = 8 (N = 10 M: 1.08 GiB,
  N = 46.78 M: 3.93 GiB), +3.6 bytes per unit of urban_k, +12 bytes per kin tie; the peak falls
  while the network is built (state arrays, CSR, rewiring draws and the assembly's counters).
  Assumed: 60 + 5·urban_k bytes per urban resident + 12 per kin tie, 200 bytes per local;
- both: about 1 KB per row of the per-week table while it is recorded ((steps + 1) × regions rows).
"""

from __future__ import annotations

from pathlib import Path

from sim.params import Config

GIB = 2**30
FIXED_BYTES = int(0.4 * GIB)
TABLE_ROW_BYTES = 1024
MESA_AGENT_BYTES = 1600
MESA_TIE_END_BYTES = 100
VEC_URBAN_BYTES = 60
VEC_BYTES_PER_DEGREE = 5
VEC_KIN_TIE_BYTES = 12
VEC_LOCAL_BYTES = 200


def estimate_bytes(cfg: Config) -> int:
    """Peak memory of a run of ``cfg`` with its engine (``cfg.engine``), in bytes."""
    pop, net = cfg.population, cfg.network
    from sim import rules
    from sim.params import region_values

    n = rules.urban_agents(pop.urban, pop.scale)
    n_local = sum(region_values(cfg, "population.locals_per_region"))
    kin = net.kin_ties * pop.roots_share * n
    table = TABLE_ROW_BYTES * (cfg.run.steps + 1) * cfg.regions.count
    if cfg.engine == "mesa":
        tie_ends = n * net.urban_k + n_local * net.local_k + 2 * kin
        return int(FIXED_BYTES + table + MESA_AGENT_BYTES * (n + n_local) + MESA_TIE_END_BYTES * tie_ends)
    per_urban = VEC_URBAN_BYTES + VEC_BYTES_PER_DEGREE * net.urban_k
    return int(FIXED_BYTES + table + per_urban * n + VEC_KIN_TIE_BYTES * kin + VEC_LOCAL_BYTES * n_local)


def available_bytes() -> int | None:
    """Memory the machine can give now (MemAvailable of /proc/meminfo), or None where it is unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(cfg: Config) -> None:
    """Raise ValueError (one line: the estimate and the limit) if the run would not fit in memory.

    The limit is ``run.max_memory_gib``, or the memory available on this machine if that is smaller."""
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
