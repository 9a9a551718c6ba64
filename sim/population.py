"""Initial state (ODD "Initialization"), shared by both engines (the random streams: ``sim.streams``).

Both engines start from the same arrays drawn here, so their initial populations are
identical for a given seed; they differ only in how the network and the weekly draws
are generated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import rules
from sim.params import Config, region_configs, region_values


def beta_with_mean(rng: np.random.Generator, mean: float, concentration: float, size: int) -> np.ndarray:
    """Beta draws with a given mean; a degenerate mean of 0 or 1 gives constants."""
    if mean <= 0.0 or mean >= 1.0:
        return np.full(size, float(np.clip(mean, 0.0, 1.0)))
    return rng.beta(concentration * mean, concentration * (1.0 - mean), size)


@dataclass
class UrbanInit:
    """State of every urban resident at week 0 (index = agent id)."""

    region: np.ndarray  # int16 candidate region: the region the person relates to, or would
    roots: np.ndarray  # bool  ゆかり in that region
    theme: np.ndarray  # bool  theme interest matching that region
    skilled: np.ndarray  # bool  a skill regions lack
    donor: np.ndarray  # bool  ふるさと納税-like donor to that region at week 0
    donor_until: np.ndarray  # float32 week the person stops donating (0: never donates), rules.donor_lapse_weeks
    online: np.ndarray  # float32 online affinity in [0, 1]
    life: np.ndarray  # int8 life stage: young, family, midlife, senior
    stage: np.ndarray  # int8 0..3
    engagement: np.ndarray  # float32 in [0, 1]


@dataclass
class LocalInit:
    """State of every local resident at week 0."""

    region: np.ndarray  # int16
    age: np.ndarray  # int8 age group: rules.YOUTH, MIDDLE, ELDER
    willingness: np.ndarray  # float32 base willingness to host
    key: np.ndarray  # bool: a key person (キーパーソン) who hosts on their own
    burden: np.ndarray  # float32 accumulated hosting burden


@dataclass
class GuideInit:
    """Every guide: side (0 urban, 1 local), region, whether its organisation runs itself."""

    side: np.ndarray  # int8
    region: np.ndarray  # int16
    self_running: np.ndarray  # bool


def draw_urban(cfg: Config, rng: np.random.Generator) -> UrbanInit:
    """Urban residents: the region each relates to drawn with weights ``regions.attraction`` (equal by default:
    regions share the same urban people), roots and theme with that region's shares, other attributes
    independent Bernoulli/Beta draws."""
    p = cfg.population
    n, r = rules.urban_agents(p.urban, p.scale), cfg.regions.count
    weights = np.asarray(region_values(cfg, "regions.attraction"), dtype=float)
    if r == 1 or np.all(weights == weights[0]):
        region = rng.integers(0, r, n).astype(np.int16)
    else:
        region = rng.choice(r, size=n, p=weights / weights.sum()).astype(np.int16)
    roots = rng.random(n) < np.asarray(region_values(cfg, "population.roots_share"))[region]
    theme = rng.random(n) < np.asarray(region_values(cfg, "population.theme_share"))[region]
    skilled = rng.random(n) < p.skilled_share
    donor = rng.random(n) < p.donor_share
    online = beta_with_mean(rng, p.online_affinity_mean, 4.0, n).astype(np.float32)
    life = rng.choice(len(p.life_stage_shares), size=n, p=np.asarray(p.life_stage_shares) / sum(p.life_stage_shares))
    u = rng.random(n)
    stage = np.where(u < p.initial_partner_share, rules.PARTNER,
                     np.where(u < p.initial_partner_share + p.initial_fan_share, rules.FAN, rules.INDIFFERENT))
    b = cfg.behaviour
    e_fan = b.fan_floor + rng.random(n) * (b.partner_threshold - b.fan_floor)
    e_par = b.partner_threshold + rng.random(n) * (1.0 - b.partner_threshold)
    engagement = np.where(stage == rules.FAN, e_fan, np.where(stage == rules.PARTNER, e_par, 0.0))
    donor_until = np.where(donor, rules.donor_lapse_weeks(rng.random(n), b.donor_lapse_rate), 0.0).astype(np.float32)
    return UrbanInit(region, roots, theme, skilled, donor, donor_until, online, life.astype(np.int8),
                     stage.astype(np.int8), engagement.astype(np.float32))


def region_aims(cfg: Config) -> np.ndarray:
    """Per region, the targeted-outreach intensity of a person it aims at (``rules.targeted_aim`` of the region's
    expected pool, ``rules.targeted_pool_share``): both engines multiply it by the person's ``tied``."""
    p = cfg.policy
    pool = rules.targeted_pool_share(np.asarray(region_values(cfg, "population.roots_share"), dtype=float),
                                     np.asarray(region_values(cfg, "population.theme_share"), dtype=float),
                                     p.target_roots, p.target_theme)
    return np.asarray(rules.targeted_aim(True, pool), dtype=float)


def draw_locals(cfg: Config, rng: np.random.Generator) -> LocalInit:
    """Local residents in blocks, region by region: each region's number, age mix, Beta willingness and key
    persons."""
    counts = np.asarray(region_values(cfg, "population.locals_per_region"), dtype=np.int64)
    region = np.repeat(np.arange(cfg.regions.count, dtype=np.int16), counts)
    age = np.empty(region.size, np.int8)
    start = 0
    for rc, n in zip(region_configs(cfg), counts):
        shares = np.asarray(rc.population.local_age_shares) / sum(rc.population.local_age_shares)
        age[start:start + n] = rng.choice(len(shares), size=n, p=shares)
        start += n
    willingness, key = new_locals_hosting(cfg, rng, region)
    return LocalInit(region, age, willingness, key, np.zeros(region.size, dtype=np.float32))


def draw_guides(cfg: Config, rng: np.random.Generator) -> GuideInit:
    """Each region's guides (``policy.guides``, from the table when it differs by region), urban-side first;
    each is self-running with the given share."""
    sides, regions = [], []
    for r, rc in enumerate(region_configs(cfg)):
        n_u, n_l = rules.guides_per_region(rc.policy.guides, cfg.policy.guide_urban_share)
        sides.append(np.r_[np.zeros(int(n_u), np.int8), np.ones(int(n_l), np.int8)])
        regions.append(np.full(int(n_u + n_l), r, np.int16))
    side, region = np.concatenate(sides), np.concatenate(regions)
    self_running = rng.random(side.size) < cfg.policy.self_running_share
    return GuideInit(side, region, self_running)


def new_locals_hosting(cfg: Config, rng: np.random.Generator, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Willingness to host and key-person flag of locals of regions ``region``, at week 0 or born or moved in
    during the run (each region's own law)."""
    region = np.asarray(region, dtype=np.int64)
    means = np.asarray(region_values(cfg, "regions.host_willingness"))
    key_shares = np.asarray(region_values(cfg, "regions.key_person_share"))
    willingness = np.empty(region.size, np.float32)
    key = np.empty(region.size, bool)
    for r in np.unique(region):
        mine = region == r
        n = int(mine.sum())
        willingness[mine] = beta_with_mean(rng, float(means[r]), 2.0, n)
        key[mine] = rng.random(n) < key_shares[r]
    return willingness, key
