"""The transition rules of the model: pure functions, one place, both engines.

Every probability, engagement update, burden update and capacity of the weekly step is
computed here. Each function accepts Python scalars (the Mesa engine, one agent at a
time) or numpy arrays (the vectorized engine, all agents at once) and returns the same
kind; none draws random numbers, so the engines differ only in how they draw.
Section numbers refer to "Submodels" in docs/ODD.md.

Functions marked ``@register_jitable`` are plain Python functions that numba can also compile
when a kernel of the vectorized engine calls them (with ``b`` given as a namedtuple), so even
the compiled engine reads its formulas from this file.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from sim.params import BehaviourParams, CostParams, PolicyParams

WEEKS_PER_YEAR = 52

INDIFFERENT, FAN, PARTNER, MIGRANT = 0, 1, 2, 3
YOUTH, MIDDLE, ELDER = 0, 1, 2


# --- 7.1 time and calendar -------------------------------------------------------------

def weekly_probability(rate_per_year):
    """Chance of at least one event in a week for a Poisson rate given per year."""
    return 1.0 - np.exp(-np.asarray(rate_per_year, dtype=float) / WEEKS_PER_YEAR)


def events_this_week(week, per_year):
    """Events of a yearly calendar falling in ``week``: spread evenly, exactly ``per_year`` a year."""
    week = np.asarray(week, dtype=np.int64)
    return (np.floor((week + 1) * per_year / WEEKS_PER_YEAR) - np.floor(week * per_year / WEEKS_PER_YEAR)).astype(
        np.int64)


def offline_suspended(week, start, length):
    """Whether offline programs are suspended in ``week`` (a COVID-like stop)."""
    return (start >= 0) & (week >= start) & (week < start + length)


def funded(week, funding_years):
    """Whether the region's public funding still runs in ``week``."""
    return np.asarray(week) < funding_years * WEEKS_PER_YEAR


def calendar_rates(week: int, p: PolicyParams) -> tuple[float, float, float]:
    """Offline programs, urban events and online events a year the region holds around ``week``. While
    funded, its whole calendar; afterwards only what the intermediaries that run themselves keep on
    (share ``self_running_share``: 自走化, 000:848; 001:88), paid by participants' fees (004:1164-1165) and
    their own revenue, not public money (``paid_events``). No offline programs while suspended."""
    keep = 1.0 if bool(funded(week, p.funding_years)) else p.self_running_share
    suspended = bool(offline_suspended(week, p.offline_suspended_from_week, p.offline_suspended_weeks))
    return ((0.0 if suspended else p.offline_programs_per_year * keep), p.urban_events_per_year * keep,
            p.online_events_per_year * keep)


def events_held(week: int, p: PolicyParams) -> tuple[int, int, int]:
    """Offline programs, urban events and online events held in ``week``, from ``calendar_rates``."""
    return tuple(int(events_this_week(week, rate)) for rate in calendar_rates(week, p))  # type: ignore[return-value]


def paid_events(week: int, held, funding_years):
    """Events of ``held`` paid from public funds: all while funded, none afterwards (``calendar_rates``)."""
    return tuple(int(n) if bool(funded(week, funding_years)) else 0 for n in held)


def urban_agents(urban, scale):
    """Simulated urban residents for ``urban`` real people, each standing for ``scale`` of them (rounded half
    up, at least one)."""
    return max(1, int(np.floor(urban / scale + 0.5)))


def agent_seats(seats, scale, u):
    """Seats for simulated residents when each stands for ``scale`` people: ``seats / scale`` rounded
    up with probability equal to its fraction (``u`` uniform), so that the expected number of real people
    seated is ``seats`` whatever the scale."""
    return np.floor(np.asarray(seats) / scale + u).astype(np.int64)


def agent_ties(ties, scale):
    """Ties of a guide to simulated urban residents: ``ties`` real people's worth, rounded half up."""
    return int(np.floor(ties / scale + 0.5))


# --- 7.2 guides (関係案内人) ------------------------------------------------------------

def guides_per_region(guides, urban_share):
    """Numbers of (urban-side, local-side) guides of a region with ``guides`` guides: the urban share
    rounded half up, the rest local."""
    total = np.asarray(guides, dtype=np.int64)
    n_urban = np.floor(total * urban_share + 0.5).astype(np.int64)
    return n_urban, total - n_urban


def guide_active(week, funding_years, self_running):
    """A guide works while funded, and afterwards only if its organisation runs itself (自走)."""
    return funded(week, funding_years) | np.asarray(self_running, dtype=bool)


def paid_guides(week, funding_years, active_guides):
    """Active guides paid from public funds: all of them while funded, none afterwards, when the guides
    still working are those of intermediaries that cover their own costs (自走化, 000:848; 001:88)."""
    return np.where(funded(week, funding_years), active_guides, 0)


def urban_guide_capacity(active_urban_guides, capacity_urban):
    """People the urban guides of a region can see this week, recruiting and following up together."""
    return np.floor(np.asarray(active_urban_guides) * capacity_urban + 1e-9).astype(np.int64)


def contact_seats(active_urban_guides, capacity_urban, followup_share=0.0):
    """Indifferent people the urban guides of a region can contact this week (PR in the city): their
    capacity less the share kept for following up fans (``followup_seats``)."""
    return (urban_guide_capacity(active_urban_guides, capacity_urban)
            - followup_seats(active_urban_guides, capacity_urban, followup_share))


def accompany_seats(active_local_guides, capacity):
    """First-time program visitors the local guides of a region can accompany this week (introducing them to
    locals and to 関わりしろ, 001:77), rounded down."""
    return np.floor(np.asarray(active_local_guides) * capacity + 1e-9).astype(np.int64)


def followup_seats(active_urban_guides, capacity_urban, followup_share):
    """Fans the urban guides of a region can follow up this week (advice, introductions, matching in the
    city, 000:953): the share ``followup_share`` of their capacity, rounded down."""
    return np.floor(urban_guide_capacity(active_urban_guides, capacity_urban) * followup_share + 1e-9
                    ).astype(np.int64)


def guide_utilisation(contacts, matches, active_urban_guides, active_local_guides, capacity_urban, capacity_local):
    """Share of the guides' weekly capacity used: contacts and follow-ups (``contacts``) plus the matches the
    local guides made (matches beyond their capacity were found at programs), over the capacity of both
    sides; 0 if none."""
    local_capacity = active_local_guides * capacity_local
    capacity = urban_guide_capacity(active_urban_guides, capacity_urban) + local_capacity
    used = contacts + np.minimum(matches, local_capacity)
    return np.where(capacity > 0, used / np.maximum(capacity, 1e-300), 0.0)


# --- 7.3 hosts and local capacity ------------------------------------------------------

@register_jitable
def host_probability(willingness, burden, sensitivity, key_person, tied_to_active_guide):
    """Chance a local resident is willing to host this week. Hosting falls on a region's key persons
    (キーパーソン, 001:89); other locals host only when an active local guide of their region brings them in
    (受入れ地域の掘り起こし, 000:947), which is how guides spread the load (負担の適度な分散, 001:69). Falls
    with accumulated burden (受け入れ疲れ)."""
    return willingness * (key_person | tied_to_active_guide) * (1.0 - burden) ** sensitivity


def event_seats(n_events, capacity):
    """Seats in this week's urban or online events of a region."""
    return np.asarray(n_events, dtype=np.int64) * capacity


def offline_seat_limits(n_programs, capacity, n_willing_hosts, visitors_per_host):
    """The two limits on this week's offline seats: program places, and visitors the willing hosts can take."""
    places = np.asarray(n_programs, dtype=np.int64) * capacity
    hosting = np.floor(n_willing_hosts * visitors_per_host + 1e-9).astype(np.int64)
    return places, hosting


def offline_seats(n_programs, capacity, n_willing_hosts, visitors_per_host):
    """Seats in this week's offline programs: program capacity, capped by hosting capacity."""
    return np.minimum(*offline_seat_limits(n_programs, capacity, n_willing_hosts, visitors_per_host))


@register_jitable
def host_load(willing, participants, n_willing):
    """Visitors each willing host receives: this week's offline participants shared evenly."""
    return willing * participants / np.maximum(1, n_willing)


@register_jitable
def burden_update(burden, load, per_visitor, recovery):
    """Host burden (受け入れ疲れ): recovers with rest, rises with the visitors hosted."""
    rested = burden * (1.0 - recovery)
    added = np.minimum(1.0, per_visitor * load)
    return rested + (1.0 - rested) * added


def partner_roles(needs_per_1000, n_locals, local_guides, roles_per_guide, programs_per_year=0.0,
                  roles_per_program=0.0, partners=0, roles_per_partner=0.0, skilled_partners=0,
                  roles_per_skilled_partner=0.0):
    """Partner roles (関わりしろ) a region can offer at once: its own needs, which shrink with its population;
    those its active local guides find and keep open (000:946-950, 001:75); the local tasks its programs turn
    into encounters (ヒダスケ: 地域の困りごと as programs, 002:152, 002:168); those its partners open by
    drawing in locals and other relationship people (001:64); and, when guides place skilled partners where
    their skill is lacking (``skill_roles``), what those skills give birth to (002:43-45). Roles grow with
    programs, guides, partners and skills."""
    return (needs_per_1000 * n_locals / 1000.0 + roles_per_guide * np.asarray(local_guides)
            + roles_per_program * programs_per_year + roles_per_partner * np.asarray(partners)
            + roles_per_skilled_partner * np.asarray(skilled_partners))


def skill_roles(skill_matching, roles_per_skilled_partner):
    """Roles each skilled partner opens: only when local guides match by skill, so that the skill meets the
    need it can fill (南小国町, 004:101; 002:43); otherwise a skilled partner is placed like anyone."""
    return roles_per_skilled_partner * float(skill_matching)


def role_end_probability(role_end_rate):
    """Weekly chance a partner's role ends (a project finishes): the partner is a fan again."""
    return weekly_probability(role_end_rate)


def match_seat_limits(n_local_guides, capacity_local, offline_participants, role_rate, roles, partners,
                      online_participants=0, online_role_rate=0.0):
    """The two limits on this week's matches: what local guides, programs and online events can offer, and
    the free roles."""
    offered = np.floor(n_local_guides * capacity_local + role_rate * offline_participants
                       + online_role_rate * online_participants + 1e-9)
    free = np.floor(roles + 1e-9) - partners
    return offered, free


def match_seats(n_local_guides, capacity_local, offline_participants, role_rate, roles, partners,
                online_participants=0, online_role_rate=0.0):
    """Fan-to-partner matches possible this week: guide capacity plus roles found at programs and remote
    roles found at online events (work without visiting, 003:12), never beyond the region's free roles."""
    offered, free = match_seat_limits(n_local_guides, capacity_local, offline_participants, role_rate, roles,
                                      partners, online_participants, online_role_rate)
    return np.maximum(0, np.minimum(offered, free)).astype(np.int64)


LIMITS = ("program_places", "hosts", "urban_seats", "online_seats", "guide_time", "local_guides", "roles",
          "openings", "first_visits", "budget")


def binding_limits(seats: dict, applicants: dict, places, hosting, offered, free, *,
                   budget_cut=False) -> dict[str, bool]:
    """Which capacity limited a flow this week: a limit binds when more people applied than its seats
    allowed. Offline seats are limited by program places or by hosts (the smaller); matches by what
    local guides and programs offer or by free roles (the smaller); the other kinds by their own seats
    (urban guides' time for contacts, openings for moves, local guides' time for first visits). Events
    bind only in weeks they are held and full: that there is no event in a week is the calendar, not a
    capacity. The budget binds while funded in a region whose yearly budget pays for only part of its plan
    (``budget_cut``)."""
    short = {kind: applicants[kind] > seats[kind] for kind in seats}
    held = {"offline": places > 0, "urban": seats["urban"] > 0, "online": seats["online"] > 0}
    return {"program_places": bool(short["offline"] and held["offline"] and places <= hosting),
            "hosts": bool(short["offline"] and hosting < places),
            "urban_seats": bool(short["urban"] and held["urban"]),
            "online_seats": bool(short["online"] and held["online"]),
            "guide_time": bool(short["contact"] or short["followup"]),
            "local_guides": bool(short["match"] and offered < free),
            "roles": bool(short["match"] and free <= offered),
            "openings": bool(short["move"]),
            "first_visits": bool(short["accompany"]),
            "budget": bool(budget_cut)}


def move_seats(openings):
    """Partners who can move to a region this week: the whole openings in its stock."""
    return np.floor(np.asarray(openings) + 1e-9).astype(np.int64)


def openings_next(stock, migrants, per_1000, n_locals, max_stock, added=0.0):
    """Housing/job openings for newcomers: used by migrants, refilled continuously (and by ``added``, this
    week's vacant houses made ready: ``vacant_houses``), capped."""
    return np.minimum(max_stock, np.maximum(0.0, stock - migrants) + per_1000 * n_locals / 1000.0 / WEEKS_PER_YEAR
                      + added)


def vacant_houses(week, per_year, funding_years):
    """Openings a region's vacant-house programme (空き家, 000:1226) adds in ``week``: ``per_year`` spread over
    the year while the programme is funded, none afterwards (the lever is public money, ``weekly_cost``)."""
    return per_year / WEEKS_PER_YEAR * float(funded(week, funding_years))


def initial_openings(per_1000, n_locals, max_stock):
    """Openings available at week 0: one year's worth, capped."""
    return np.minimum(max_stock, per_1000 * n_locals / 1000.0)


# --- 7.4 becoming a fan ------------------------------------------------------------------

@register_jitable
def urban_engaged(stage):
    """An urban resident is engaged with its region once a fan, partner or migrant."""
    return stage != INDIFFERENT


@register_jitable
def engaged_tie(tie_region, region, engaged):
    """Whether a tie counts as engaged for a person relating to ``region``: the other end relates to
    that region (urban resident: its region; local: lives there; guide: works for it) and is engaged
    (urban: ``urban_engaged``; local: still living there; guide: active this week)."""
    return (tie_region == region) & engaged


@register_jitable
def registered(member, stage):
    """Membership of the region's registry (fan club, registration platform): a person joins on becoming a
    fan and stays registered when they drift back or move (registries accumulate members for years:
    飛騨市ファンクラブ: 約1.7万人の会員, 002:136)."""
    return member | (stage != INDIFFERENT)


def exposure(engaged_ties, degree):
    """Share of a person's ties that are engaged with its region (0 with no ties): word of mouth."""
    if isinstance(degree, int):  # one person (Mesa engine): plain arithmetic, no array overhead
        return engaged_ties / degree if degree > 0 else 0.0
    degree = np.asarray(degree)
    return np.where(degree > 0, np.asarray(engaged_ties) / np.maximum(degree, 1), 0.0)


@register_jitable
def donating(donor_until, week):
    """Whether a donor still donates (ふるさと納税-like, 000:323) in ``week``: each donor stops at a week drawn
    once at week 0 (``donor_lapse_weeks``; 0 for people who never donate)."""
    return week < donor_until


def donor_lapse_weeks(u, lapse_rate_per_year):
    """Week a donor stops donating, from a uniform ``u``: exponential with the yearly lapse rate (never
    with a rate of 0)."""
    rate = lapse_rate_per_year / WEEKS_PER_YEAR
    with np.errstate(divide="ignore"):
        return np.where(rate > 0, -np.log1p(-np.asarray(u, dtype=float)) / max(rate, 1e-300), np.inf)


@register_jitable
def targeted(roots, theme, target_roots, target_theme):
    """Whether targeted outreach reaches a person: roots (ゆかり) and/or theme interest, as the policy aims."""
    return (roots & target_roots) | (theme & target_theme)


@register_jitable
def outreach_weight(tied, targeting, tie_weight):
    """How strongly outreach (guides, events) reaches a person: broadcast part plus targeted part
    that only reaches people with roots or a matching theme (000: targeting works better)."""
    return (1.0 - targeting) + targeting * tie_weight * tied


def targeted_pool_share(roots_share, theme_share, target_roots, target_theme):
    """Expected share of a region's urban residents that targeted outreach aims at: roots and/or theme as the
    policy aims (independent, as drawn at initialization)."""
    return 1.0 - (1.0 - roots_share * target_roots) * (1.0 - theme_share * target_theme)


def targeted_aim(tied, pool_share):
    """Targeted-outreach intensity a person receives: targeted PR is one effort spread over the pool it aims at
    (000:804-811), so a person in a pool of share s gets 1/s of it, anyone outside nothing."""
    pool = np.asarray(pool_share, dtype=float)
    return np.where(np.asarray(tied, dtype=bool) & (pool > 0), 1.0 / np.where(pool > 0, pool, 1.0), 0.0)


@register_jitable
def passive_hazard(aim, frac_engaged, donor, targeting, donor_path, b: BehaviourParams):
    """Weekly hazard of becoming a fan without a personal contact: broadcast PR, targeted PR (``aim``:
    ``targeted_aim``), engaged friends, and the non-visiting donor path."""
    return (b.broadcast_hazard * (1.0 - targeting) + b.targeted_reach * targeting * aim
            + b.social_hazard * frac_engaged + b.donor_hazard * donor * donor_path)


@register_jitable
def bar_factor(entry_bar, cut):
    """A higher registration bar converts fewer people (鹿角家 vs 夕張Likers!)."""
    return 1.0 - cut * entry_bar


@register_jitable
def conversion_probability(hazard, contacted, att_urban, att_online, entry_bar, online_effect, b: BehaviourParams):
    """Chance an indifferent person becomes a fan this week, from every channel at once."""
    f = bar_factor(entry_bar, b.entry_bar_cut)
    stay = (np.exp(-hazard * f)
            * (1.0 - b.guide_conversion * f) ** contacted
            * (1.0 - b.event_conversion * f) ** att_urban
            * (1.0 - b.event_conversion * online_effect * f) ** att_online)
    return 1.0 - stay


@register_jitable
def entry_engagement(entry_bar, attached, b: BehaviourParams):
    """Engagement of a new fan: a higher bar raises attachment (004: 鹿角家), and a person who already relates
    to the region, by roots (ゆかり) or by its theme, starts more attached (000:811: approaching people who
    already have some relation, or whose interest matches the theme, works)."""
    return np.minimum(1.0, b.entry_engagement_low + entry_bar * (b.entry_engagement_high - b.entry_engagement_low)
                      + b.tie_attachment * attached)


# --- 7.5 activities -----------------------------------------------------------------------

@register_jitable
def apply_probabilities(stage, online_affinity, weight, remoteness, b: BehaviourParams):
    """Wish to attend (offline program, urban event, online event) this week, by stage."""
    ind = stage == INDIFFERENT
    fan = stage == FAN
    par = stage == PARTNER
    active = fan | par
    p_off = b.apply_offline * (1.0 - remoteness) * (fan + 2.0 * par)
    p_urb = b.apply_urban_indifferent * weight * ind + b.apply_urban * active
    p_on = online_affinity * (b.apply_online_indifferent * weight * ind + b.apply_online * active)
    return np.minimum(1.0, p_off), np.minimum(1.0, p_urb), np.minimum(1.0, p_on)


def allocation_key(u, weight):
    """Random priority for a capacity-limited seat: weighted sampling without replacement
    (Efraimidis-Spirakis): the ``k`` largest keys are a weighted sample of size ``k``."""
    return np.asarray(u, dtype=float) ** (1.0 / np.asarray(weight, dtype=float))


def select_top(keys, seats):
    """Boolean mask of the ``seats`` applicants with the largest keys (all if fewer apply)."""
    keys = np.asarray(keys, dtype=float)
    n = keys.shape[0]
    seats = int(seats)
    if seats >= n:
        return np.ones(n, dtype=bool)
    mask = np.zeros(n, dtype=bool)
    if seats > 0:
        mask[np.argpartition(-keys, seats - 1)[:seats]] = True
    return mask


@register_jitable
def match_weight(skilled, skill_matching, skill_weight):
    """Priority of a fan for a local-guide match: skilled fans first when skill matching is on."""
    return 1.0 + (skill_weight - 1.0) * skilled * skill_matching


def match_holds_probability(skilled, skill_matching, skill_role_share):
    """Chance a match turns into a lasting role: a share of the roles needs a skill the region lacks (002:43),
    and a fan without it, sent to such a role, does not take it up. With skill matching, local guides send
    each fan to a role they can fill (南小国町, 004:101, 004:1124-1174), so every match holds."""
    return 1.0 - skill_role_share * (1.0 - np.asarray(skilled, dtype=float)) * (1.0 - float(skill_matching))


# --- 7.6 engagement and the ladder -----------------------------------------------------

@register_jitable
def engagement_gain(att_off, att_urb, att_on, matched, followed, frac_engaged, donor_active, online_effect,
                    b: BehaviourParams, accompanied=0):
    """Share of the remaining distance to full engagement closed by this week's contacts (a first visit on
    which a local guide came along closes more: ``accompanied``)."""
    g = (b.gain_offline * att_off + b.gain_urban * att_urb + online_effect * b.gain_offline * att_on
         + b.gain_match * matched + b.gain_followup * followed + b.gain_social * frac_engaged
         + b.gain_donor * donor_active + b.gain_accompanied * accompanied)
    return np.minimum(1.0, g)


@register_jitable
def engagement_update(e, gain, decay):
    """Engagement decays without contact and rises towards 1 with it; stays in [0, 1]."""
    kept = e * (1.0 - decay)
    return kept + (1.0 - kept) * gain


def next_stage(stage, e, moves, matched, role_ended, fan_floor, partner_floor):
    """Stage at the end of the week: a move wins, then a match, then a role that ends (partner -> fan),
    then drift (``step_down``)."""
    drift = step_down(stage, e, fan_floor, partner_floor)
    ended = np.asarray(role_ended, dtype=bool) & (np.asarray(stage) == PARTNER)
    return np.where(moves, MIGRANT, np.where(matched, PARTNER, np.where(ended, FAN, drift)))


def step_down(stage, e, fan_floor, partner_floor):
    """Stage after drift: a fan below the fan floor becomes indifferent, a partner below the
    partner floor becomes a fan (000: 継続的に関わってくれることが約束されたものではありません)."""
    down = ((stage == FAN) & (e < fan_floor)) | ((stage == PARTNER) & (e < partner_floor))
    return stage - down


def migration_probability(life_event_rate, e, power, roots=False, roots_factor=1.0):
    """Weekly wish of a partner to move: a life event that makes moving possible, times engagement raised to a
    power (attachment decides whether the event leads here), times ``roots_factor`` for a person with roots in
    the region (a U-turn is likelier than an I-turn: 000:296-298)."""
    factor = np.where(np.asarray(roots, dtype=bool), roots_factor, 1.0)
    return np.minimum(1.0, weekly_probability(life_event_rate) * np.asarray(e, dtype=float) ** power * factor)


# --- 7.7 local demography --------------------------------------------------------------------

def local_exit_probability(age_group, youth_leave_rate, elder_death_rate, migrant=False, migrant_leave_rate=0.0):
    """Weekly chance a local leaves (youth move away) or dies (elders); a local who moved in as a migrant may
    also leave again (``migrant_leave_rate``), independently of age."""
    by_age = (weekly_probability(youth_leave_rate) * (age_group == YOUTH)
              + weekly_probability(elder_death_rate) * (age_group == ELDER))
    again = weekly_probability(migrant_leave_rate) * np.asarray(migrant, dtype=float)
    return 1.0 - (1.0 - by_age) * (1.0 - again)


def ageing_probability(age_group, ageing_rate):
    """Weekly chance a local moves to the next age group."""
    return weekly_probability(ageing_rate) * (age_group < ELDER)


def expected_births(n_locals, birth_rate):
    """Mean number of births in a region this week (Poisson)."""
    return birth_rate * n_locals / WEEKS_PER_YEAR


def migrant_age_group(life_stage):
    """Age group a migrant joins: young and family -> youth, midlife -> middle, senior -> elder."""
    return np.asarray([YOUTH, YOUTH, MIDDLE, ELDER], dtype=np.int8)[life_stage]


# --- 7.8 cost, benefits and the survey's typology ---------------------------------------------------

RELATION_TYPES = ("contribution", "exchange", "non_visiting", "roots_only", "no_relation", "moved")
CONTRIBUTION, EXCHANGE, NON_VISITING, ROOTS_ONLY, NO_RELATION, MOVED = range(len(RELATION_TYPES))


def visited_on_own(u, own_visit_share):
    """Whether a fan who won no program seat in the past year visited the region on their own (趣味・消費型,
    参加・交流型 outside programs: most of the survey's visiting relationship people, 000:1544-1557), from the
    fan's uniform ``u`` of the yearly survey. Own visits are not simulated week by week: their effect on
    engagement is inside the net decay of engagement without contact; they set the survey's rows."""
    return np.asarray(u) < own_visit_share


def relation_type(stage, visited_within_year, donating_now, roots):
    """Each urban resident's relation to its region in the rows of the 2020 survey of the three metro areas
    (000:1536-1571): a partner contributes to the region's projects (直接寄与型, 000:1582-1585; with
    就労型: the model's roles are not split into paid and unpaid); a fan who took part in a program there
    within the past year visits to take part (参加・交流型; the model's only visits are its programs, so
    趣味・消費型 visits fall here too); any other fan, and a donor, relates without visiting (非訪問系:
    ふるさと納税, online, 001:57); someone with roots (ゆかり) and none of these is the kin row
    (地縁・血縁); everyone else has no relation; migrants have moved."""
    stage = np.asarray(stage)
    fan = stage == FAN
    return np.select([stage == MIGRANT, stage == PARTNER, fan & visited_within_year, fan | donating_now, roots],
                     [MOVED, CONTRIBUTION, EXCHANGE, NON_VISITING, ROOTS_ONLY], NO_RELATION).astype(np.int8)


def weekly_benefits(donors, offline_participants, partners, c: CostParams) -> tuple[float, float, float]:
    """What relationship people bring a region this week: donations (yen), visitors' spending (yen) and
    partners' volunteer days (their contributions continue while they hold a role)."""
    return (donors * c.donation_yen_per_year / WEEKS_PER_YEAR, offline_participants * c.visitor_spend_yen,
            partners * c.partner_days_per_year / WEEKS_PER_YEAR)


def donors_active(donor_weeks, week):
    """Donors still donating in ``week`` (``donating``), from their lapse weeks sorted ascending."""
    return len(donor_weeks) - np.searchsorted(donor_weeks, week, side="right")


def planned_yearly_cost(guides, offline_per_year, urban_per_year, online_per_year, houses_per_year, c: CostParams):
    """Public yen a year of a region's funded plan: its guides, the events it plans and the vacant houses it
    makes ready (what ``weekly_cost`` spends over a funded year)."""
    return (guides * c.guide_year_yen + offline_per_year * c.offline_program_yen + urban_per_year * c.urban_event_yen
            + online_per_year * c.online_event_yen + houses_per_year * c.vacant_house_yen)


def budget_share(budget, planned):
    """Share of a region's funded plan its yearly budget pays for: 1 with no cap (a budget of 0) or a plan
    within it, else budget / planned. A municipality fits its plan to its budget by cutting every funded item by
    the same share (an assumption: no seed says how plans are cut)."""
    return 1.0 if budget <= 0 or planned <= budget else float(budget) / float(planned)


def within_budget(guides, per_year, share):
    """The funded plan cut to ``share``: whole guides (FTE) rounded down, so the plan stays within the budget,
    and each yearly number of events and vacant houses times ``share``."""
    return int(np.floor(guides * share + 1e-9)), tuple(float(n) * share for n in per_year)


def weekly_cost(paid_guides, offline_paid, urban_paid, online_paid, c: CostParams, houses=0.0):
    """Public yen spent this week: guides and events paid from public funds (``paid_guides``,
    ``paid_events``) and the openings the vacant-house programme adds (``houses``, ``vacant_houses``);
    what runs itself after funding ends costs the public nothing."""
    return (paid_guides * c.guide_year_yen / WEEKS_PER_YEAR + offline_paid * c.offline_program_yen
            + urban_paid * c.urban_event_yen + online_paid * c.online_event_yen + houses * c.vacant_house_yen)
