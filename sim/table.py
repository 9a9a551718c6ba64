"""The per-week table both engines produce: one row per (step, region), same columns, same types."""

from __future__ import annotations

import numpy as np
import pandas as pd

# name -> (dtype, meaning)
COLUMNS: dict[str, tuple[str, str]] = {
    "step": ("int32", "week; 0 is the initial state, flows are those of the week ending at this step"),
    "region": ("int16", "destination region index"),
    "indifferent": ("int64", "urban residents whose candidate region is this one and who are indifferent (無関心)"),
    "fan": ("int64", "fans (ファン) of this region"),
    "partner": ("int64", "partners (パートナー) of this region"),
    "migrant": ("int64", "cumulative migrants (移住) to this region"),
    "members": ("int64", "registry members of this region: everyone who has become a fan, registered for good"),
    "new_fans": ("int64", "indifferent -> fan this week"),
    "new_partners": ("int64", "fan -> partner this week"),
    "new_migrants": ("int64", "partner -> migrant this week"),
    "dropouts": ("int64", "steps down this week as engagement fades (fan -> indifferent, partner -> fan)"),
    "roles_ended": ("int64", "partners whose role ended this week (partner -> fan, still engaged)"),
    "local_population": ("int64", "local residents living in the region at the end of the week"),
    "migrants_staying": ("int64", "of them, those who moved in as migrants during the run (retention: "
                                  "migrants_staying / migrant)"),
    "mean_host_burden": ("float64", "mean hosting burden (受け入れ疲れ) of local residents, 0-1"),
    "key_host_burden": ("float64", "mean hosting burden of the key persons (キーパーソン), on whom hosting falls "
                                   "unless local guides bring in other hosts, 0-1"),
    "guide_utilisation": ("float64", "contacts and matches made / guide capacity available (0 if none)"),
    "active_guides": ("int64", "guides working this week (funded or self-running)"),
    "paid_guides": ("int64", "active guides paid from public funds (none after funding ends: self-running "
                             "intermediaries cover their own costs)"),
    "willing_hosts": ("int64", "locals willing to host this week"),
    "events_held": ("int64", "offline programs + urban events + online events held this week"),
    "events_paid": ("int64", "events held this week paid from public funds (none after funding ends: those "
                             "still held run on participants' fees)"),
    "participants": ("int64", "seats filled in all events this week"),
    "offline_participants": ("int64", "seats filled in offline programs"),
    "online_participants": ("int64", "seats filled in online events"),
    "guide_contacts": ("int64", "indifferent people contacted by urban guides"),
    "matches": ("int64", "fans matched to a local need (become partners)"),
    "vacant_houses": ("float64", "openings the vacant-house programme added this week (空き家, paid while funded)"),
    "budget_share": ("float64", "share of the region's funded plan (guides, events, vacant houses) its yearly budget "
                                "pays for: 1 the whole plan (no cap, or within budget); 0 at step 0"),
    "cost_yen": ("float64", "public yen spent this week on paid guides, the events held and the vacant houses "
                            "made ready"),
}
FLOWS = ("new_fans", "new_partners", "new_migrants", "dropouts", "roles_ended")  # the week's flow columns
SEAT_KINDS = ("offline", "urban", "online", "contact", "followup", "match", "move", "accompany")  # in the order
# they are allocated (first visits need the offline places given first)
_SEAT_MEANING = {"offline": "offline program places", "urban": "urban event places",
                 "online": "online event places", "contact": "urban-guide contacts",
                 "followup": "urban-guide follow-ups of fans", "match": "fan-to-partner matches",
                 "move": "moves (openings)",
                 "accompany": "first program visits accompanied by a local guide"}
for _k in SEAT_KINDS:
    COLUMNS[f"seats_{_k}"] = ("int64", f"{_SEAT_MEANING[_k]} available this week")
for _k in SEAT_KINDS:
    COLUMNS[f"applicants_{_k}"] = ("int64", f"people who wished for {_SEAT_MEANING[_k]} this week")
_LIMIT_MEANING = {
    "program_places": "offline programs held were full (applicants exceeded programs x capacity)",
    "hosts": "offline applicants exceeded what willing hosts can take (fewer than program places)",
    "urban_seats": "urban events held were full", "online_seats": "online events held were full",
    "guide_time": "more indifferent people could be contacted, or fans followed up, than urban guides have time for",
    "local_guides": "fans ready to become partners exceeded what local guides and programs offer",
    "roles": "fans ready to become partners exceeded the free partner roles (関わりしろ)",
    "openings": "partners wishing to move exceeded the openings (housing, jobs)",
    "first_visits": "first-time program visitors exceeded what local guides can accompany",
    "budget": "the yearly budget paid for only part of the funded plan (guides, events, vacant houses cut to fit)",
}
for _k, _m in _LIMIT_MEANING.items():
    COLUMNS[f"bound_{_k}"] = ("bool", f"this limit bound this week: {_m}")
LIMIT_COLUMNS = tuple(f"bound_{k}" for k in _LIMIT_MEANING)
COLUMNS["donors"] = ("int64", "urban residents of this region's pool still donating (ふるさと納税-like)")
_SURVEY_MEANING = {  # rules.relation_type; the 2020 survey's rows (000:1536-1571)
    "contribution": "partners: 直接寄与型 (with 就労型)",
    "exchange": "fans who visited in the past year, in a program or on their own: 参加・交流型, 趣味・消費型",
    "non_visiting": "other fans, and donors: 非訪問系 (ふるさと納税 etc.)",
    "roots_only": "people with roots (ゆかり) and no other relation: 地縁・血縁",
    "no_relation": "everyone else of the region's pool: 特定の地域と関わりのない人",
}
SURVEY_COLUMNS = tuple(f"survey_{k}" for k in _SURVEY_MEANING)
for _k, _m in _SURVEY_MEANING.items():
    COLUMNS[f"survey_{_k}"] = ("int64", f"at the last yearly survey (week 0, 52, 104, ...), {_m}")
BENEFIT_COLUMNS = ("donations_yen", "visitor_spending_yen", "volunteer_days")
COLUMNS["donations_yen"] = ("float64", "yen donated to the region this week by active donors")
COLUMNS["visitor_spending_yen"] = ("float64", "yen spent in the region this week by program participants")
COLUMNS["volunteer_days"] = ("float64", "days partners gave the region this week while holding a role")

STAGE_COLUMNS = ("indifferent", "fan", "partner", "migrant")


def from_records(records: dict[str, list]) -> pd.DataFrame:
    """Build the table from column lists (each engine appends one entry per region per step)."""
    missing = set(COLUMNS) - set(records)
    if missing:
        raise KeyError(f"engine did not record columns {sorted(missing)}")
    df = pd.DataFrame({c: np.asarray(records[c]).astype(t) for c, (t, _) in COLUMNS.items()})
    return df.sort_values(["step", "region"], kind="stable").reset_index(drop=True)


def totals(df: pd.DataFrame) -> pd.DataFrame:
    """All regions summed per step (burden and utilisation averaged)."""
    means = ("mean_host_burden", "key_host_burden", "guide_utilisation")
    agg = {c: "sum" for c in COLUMNS if c not in ("step", "region", *means)}
    agg.update({c: "mean" for c in means})
    return df.groupby("step", as_index=False).agg(agg)


ACTIVITY = ("guide_utilisation", "active_guides", "paid_guides", "vacant_houses", "budget_share", "willing_hosts",
            "participants",
            "offline_participants", "online_participants", "guide_contacts", "matches",
            *(f"{what}_{k}" for what in ("seats", "applicants") for k in SEAT_KINDS), *LIMIT_COLUMNS)


class Recorder:
    """Collects the table row by row; both engines fill it the same way, so rows mean the same."""

    def __init__(self, costs) -> None:
        self.costs = costs
        self.records: dict[str, list] = {c: [] for c in COLUMNS}

    def add(self, step: int, region: int, stages, flows, local_population: int, mean_host_burden: float,
            events: tuple[int, int, int] = (0, 0, 0), members: int = 0,
            paid_events: tuple[int, int, int] = (0, 0, 0), key_host_burden: float = 0.0, donors: int = 0,
            survey: tuple[int, ...] | np.ndarray = (), migrants_staying: int = 0, **activity) -> None:
        """One row: stage counts (4), flows (``sim.engines.FLOWS``), locals, and this
        week's events held (offline, urban, online) and activity (``ACTIVITY`` keys; zero at step 0)."""
        from sim import rules

        row = {"step": step, "region": region, **dict(zip(STAGE_COLUMNS, stages)),
               **dict(zip(FLOWS, flows)),
               "members": members, "local_population": local_population, "migrants_staying": migrants_staying,
               "mean_host_burden": mean_host_burden,
               "key_host_burden": key_host_burden,
               **{k: activity.get(k, 0) for k in ACTIVITY},
               "events_held": sum(events), "events_paid": sum(paid_events),
               "cost_yen": float(rules.weekly_cost(activity.get("paid_guides", 0), *paid_events, self.costs,
                                                   activity.get("vacant_houses", 0.0))),
               "donors": donors, **dict(zip(SURVEY_COLUMNS, survey if len(survey) else (0,) * len(SURVEY_COLUMNS))),
               **dict(zip(BENEFIT_COLUMNS, rules.weekly_benefits(donors, activity.get("offline_participants", 0),
                                                                 stages[2], self.costs) if activity else (0.0,) * 3))}
        for c, v in row.items():
            self.records[c].append(v)

    def frame(self) -> pd.DataFrame:
        """The table recorded so far."""
        return from_records(self.records)
