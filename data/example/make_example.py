"""Generate the SYNTHETIC example cohort data (Tier 1 and Tier 3) shipped with delibpoll.

Run from the repository root: ``python data/example/make_example.py``. Deterministic: the
same seed gives byte-identical files. Everything here is synthetic: no respondent is real.

The answers are drawn from simple models in which they depend on age, sex, education and
(for Tier 3's question on charging) the information arm. Each model's intercept is set so
that the answer's share in the England adult POPULATION (the ONS margins in
data/population/) equals a figure published in the Cohort 1 report: 62% "Increase
confidence" and 23% "No impact" for the Data Pact, and about one in three "Wrong" to
charge for access to data. Tier 3 respondents are drawn with online-panel skews (too few
aged 75+ and with no qualifications, too many graduates), so the *weighted* estimates land
near the published figures and the unweighted ones do not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEED = 20250601
N_TIER3 = 4000
HUBS = {"Sheffield": 26, "Plymouth": 25, "Canterbury": 25, "North London": 25}

SEX = ["Female", "Male"]
AGE = ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
REGION = ["North East", "North West", "Yorkshire and The Humber", "East Midlands",
          "West Midlands", "East of England", "London", "South East", "South West"]
EDUCATION = ["No qualifications", "Level 1 and entry level qualifications",
             "Level 2 qualifications", "Apprenticeship", "Level 3 qualifications",
             "Level 4 qualifications and above", "Other qualifications"]
ETHNICITY = ["White", "Asian/Asian British", "Black/Black British/Caribbean/African",
             "Mixed/Multiple", "Other ethnic group"]
Q_PACT = ["Increase confidence", "No impact", "Decrease confidence", "Don't know"]
Q_CHARGE = ["Right", "Wrong", "Don't know"]
Q_COMMITTEE = ["Central committee", "Each SDE", "Don't know"]
ARMS = ["Control", "Reassured"]
PRIORITIES = {
    "prio_care": "Improving NHS care and services",
    "prio_research": "Medical research and new treatments",
    "prio_reinvest": "Reinvesting any surplus in the NHS",
    "prio_public": "Benefits for the public, not companies",
    "prio_privacy": "Protecting privacy above all",
}
# Education ranks used by the answer models (Apprenticeship and Other sit mid-scale)
EDU_RANK = np.array([0, 1, 2, 2, 3, 4, 2], dtype=float)
TRUST_DK = 99
NOT_ANSWERED = -9

PACT_INCREASE = 0.62
PACT_NO_IMPACT_GIVEN_NOT = 0.23 / (1 - PACT_INCREASE)
CHARGE_WRONG = 1 / 3


def population_shares() -> dict[str, np.ndarray]:
    path = ROOT / "data" / "population" / "england_adult_targets.csv"
    t = pd.read_csv(path, keep_default_na=False)
    out = {}
    for var, cats in (("sex", SEX), ("age_group", AGE), ("region", REGION),
                      ("education", EDUCATION), ("ethnicity", ETHNICITY)):
        s = t[t["variable"] == var].set_index("category")["target"].astype(float)
        out[var] = s.loc[cats].to_numpy()
    return out


def expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def draw_people(rng: np.random.Generator, n: int, shares: dict[str, np.ndarray],
                skew: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    cols = {}
    for var, cats in (("sex", SEX), ("age_group", AGE), ("region", REGION),
                      ("education", EDUCATION), ("ethnicity", ETHNICITY)):
        p = shares[var] * (skew or {}).get(var, 1.0)
        cols[var] = rng.choice(len(cats), n, p=p / p.sum())
    return pd.DataFrame(cols)


def pact_logit(codes: pd.DataFrame) -> np.ndarray:
    return (0.16 * (codes["age_group"].to_numpy() - 3)
            - 0.12 * (EDU_RANK[codes["education"].to_numpy()] - 2)
            + 0.18 * (codes["sex"].to_numpy() == 0))


def charge_logit(codes: pd.DataFrame, reassured: np.ndarray) -> np.ndarray:
    return (0.22 * (EDU_RANK[codes["education"].to_numpy()] - 2)
            - 0.10 * (codes["age_group"].to_numpy() - 3)
            - 0.55 * reassured)


def solve_intercept(lin: np.ndarray, target: float) -> float:
    """Intercept a with mean(expit(a + lin)) == target (bisection; exact to 1e-12)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if expit(mid + lin).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def intercepts(rng: np.random.Generator, shares: dict[str, np.ndarray]) -> tuple[float, float]:
    pop = draw_people(rng, 400_000, shares)
    a_pact = solve_intercept(pact_logit(pop), PACT_INCREASE)
    arm = np.tile([0.0, 1.0], len(pop) // 2)
    a_charge = solve_intercept(charge_logit(pop, arm), CHARGE_WRONG)
    return a_pact, a_charge


def answers(rng: np.random.Generator, codes: pd.DataFrame, reassured: np.ndarray,
            a_pact: float, a_charge: float) -> dict[str, np.ndarray]:
    n = len(codes)
    age = codes["age_group"].to_numpy()
    edu = EDU_RANK[codes["education"].to_numpy()]
    p_inc = expit(a_pact + pact_logit(codes))
    u = rng.random(n)
    v = rng.random(n)
    pact = np.where(u < p_inc, 0, np.where(v < PACT_NO_IMPACT_GIVEN_NOT, 1,
                    np.where(rng.random(n) < 0.55, 2, 3)))
    p_wrong = expit(a_charge + charge_logit(codes, reassured))
    u = rng.random(n)
    charge = np.where(u < p_wrong, 1, np.where(rng.random(n) < 0.72, 0, 2))
    trust = np.clip(np.round(rng.normal(6.1 + 0.15 * (age - 3) - 0.1 * (edu - 2), 2.2)), 0, 10)
    trust = np.where(rng.random(n) < 0.04, TRUST_DK, trust)
    p_central = expit(-0.1 + 0.15 * (edu - 2))
    u = rng.random(n)
    committee = np.where(u < 0.8 * p_central, 0, np.where(u < 0.8, 1, 2))
    committee = np.where(rng.random(n) < 0.01, NOT_ANSWERED, committee)
    prios = {}
    for i, col in enumerate(PRIORITIES):
        base = [0.55, 0.45, 0.40, 0.35, 0.25][i]
        prios[col] = (rng.random(n) < expit(np.log(base / (1 - base)) + 0.08 * (age - 3))).astype(int)
    return {"q_pact": pact, "q_charge": charge, "trust_nhs": trust, "q_committee": committee,
            **prios}


def deliberate(rng: np.random.Generator, pre: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Post-deliberation answers: more confident, fewer don't knows, a little more trust."""
    n = len(pre["q_pact"])
    post = {k: v.copy() for k, v in pre.items()}
    move = (pre["q_pact"] != 0) & (rng.random(n) < 0.45)
    post["q_pact"] = np.where(move, 0, pre["q_pact"])
    back = (pre["q_pact"] == 0) & (rng.random(n) < 0.05)
    post["q_pact"] = np.where(back, 1, post["q_pact"])
    dk = (pre["q_charge"] == 2) & (rng.random(n) < 0.7)
    post["q_charge"] = np.where(dk, rng.choice([0, 1], n, p=[0.55, 0.45]), pre["q_charge"])
    t = pre["trust_nhs"].astype(float)
    known = t != TRUST_DK
    post["trust_nhs"] = np.where(known, np.clip(np.round(t + rng.normal(0.7, 1.2, n)), 0, 10), 6.0)
    dkc = (pre["q_committee"] == 2) & (rng.random(n) < 0.6)
    post["q_committee"] = np.where(dkc, 0, pre["q_committee"])
    post["q_committee"] = np.where(post["q_committee"] == NOT_ANSWERED, 0, post["q_committee"])
    return post


def _labelled(codes: np.ndarray, cats: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(int), categories=cats)


def _frame(people: pd.DataFrame, ans: dict[str, np.ndarray], suffix: str = "") -> dict[str, object]:
    cols: dict[str, object] = {}
    cols["q_pact" + suffix] = _labelled(ans["q_pact"], Q_PACT)
    cols["q_charge" + suffix] = _labelled(ans["q_charge"], Q_CHARGE)
    trust = ans["trust_nhs"].astype(float)
    cols["trust_nhs" + suffix] = pd.array(np.where(trust == TRUST_DK, np.nan, trust), dtype="Int64")
    com = ans["q_committee"]
    cols["q_committee" + suffix] = pd.Categorical.from_codes(
        np.where(com == NOT_ANSWERED, -1, com).astype(int), categories=Q_COMMITTEE
    )
    return cols


def _demographics(people: pd.DataFrame) -> dict[str, object]:
    return {
        "sex": _labelled(people["sex"].to_numpy(), SEX),
        "age_group": pd.Categorical.from_codes(people["age_group"].to_numpy(), AGE, ordered=True),
        "region": _labelled(people["region"].to_numpy(), REGION),
        "education": _labelled(people["education"].to_numpy(), EDUCATION),
        "ethnicity": _labelled(people["ethnicity"].to_numpy(), ETHNICITY),
    }


def _missing_attrs(df: pd.DataFrame, raw: dict[str, dict[str, np.ndarray]]) -> None:
    """Record user-missing codes so the .sav declares them (see delibpoll.io)."""
    reasons: dict[str, dict[int, list[object]]] = {}
    codes: dict[str, dict[int, str]] = {}
    for col, (values, mapping) in raw.items():
        rows = {}
        for code, label in mapping.items():
            for i in np.flatnonzero(values == code):
                rows[int(df.index[i])] = [code, label]
        if rows:
            reasons[col] = rows
        codes[col] = dict(mapping)
    df.attrs["missing_reasons"] = reasons
    df.attrs["missing_codes"] = codes


VARIABLE_LABELS = {
    "respondent_id": "Respondent id (SYNTHETIC example data)",
    "participant_id": "Participant id (SYNTHETIC example data)",
    "hub": "Deliberation hub",
    "group_id": "Discussion group",
    "info_arm": "Information arm (randomised): Reassured = told any surplus stays in the NHS",
    "sex": "Sex",
    "age_group": "Age group",
    "region": "Region (England)",
    "education": "Highest qualification",
    "ethnicity": "Ethnic group",
    "q_pact": "Would a Data Pact increase or decrease your confidence in how the NHS uses data?",
    "q_charge": "Is it right or wrong for the NHS to make money by charging for access to data?",
    "trust_nhs": "Trust in the NHS to use health data well (0 = not at all, 10 = completely)",
    "q_committee": "Preferred model for data access committees",
    **{k: f"Priority for the value of data: {v} (selected = 1)" for k, v in PRIORITIES.items()},
}


def generate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (tier3, tier1) frames. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    shares = population_shares()
    a_pact, a_charge = intercepts(rng, shares)

    panel_skew = {
        "age_group": np.array([1.0, 1.1, 1.2, 1.2, 1.1, 0.85, 0.4]),
        "education": np.array([0.45, 0.9, 1.0, 0.9, 1.0, 1.4, 0.8]),
        "sex": np.array([1.06, 0.94]),
        "ethnicity": np.array([1.03, 0.9, 0.85, 1.0, 0.8]),
    }
    people = draw_people(rng, N_TIER3, shares, panel_skew)
    arm = rng.permutation(np.repeat([0, 1], N_TIER3 // 2))
    ans = answers(rng, people, arm.astype(float), a_pact, a_charge)
    tier3 = pd.DataFrame({"respondent_id": np.arange(1, N_TIER3 + 1), **_demographics(people),
                          "info_arm": _labelled(arm, ARMS), **_frame(people, ans)})
    for col in PRIORITIES:
        tier3[col] = ans[col]
    _missing_attrs(tier3, {"trust_nhs": (ans["trust_nhs"], {TRUST_DK: "Don't know"}),
                           "q_committee": (ans["q_committee"], {NOT_ANSWERED: "Not answered"})})
    tier3.attrs["variable_labels"] = {k: v for k, v in VARIABLE_LABELS.items() if k in tier3}

    n1 = sum(HUBS.values())
    t1_skew = {"education": np.array([0.6, 0.9, 1.0, 0.9, 1.0, 1.6, 0.8]),
               "age_group": np.array([0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9])}
    people1 = draw_people(rng, n1, shares, t1_skew)
    pre = answers(rng, people1, np.zeros(n1), a_pact, a_charge)
    post = deliberate(rng, pre)
    hubs = np.repeat(list(HUBS), list(HUBS.values()))
    group = np.empty(n1, dtype=object)
    start = 0
    for hub, size in HUBS.items():
        sizes = [7] * (size // 7)
        for k in range(size - sum(sizes)):
            sizes[k % len(sizes)] += 1
        g = np.repeat(np.arange(len(sizes)), sizes)
        group[start:start + size] = [f"{hub[:3].upper()}-{j + 1}" for j in rng.permutation(g)]
        start += size
    tier1 = pd.DataFrame({"participant_id": np.arange(1, n1 + 1),
                          "hub": pd.Categorical(hubs, categories=list(HUBS)),
                          "group_id": group.astype(str), **_demographics(people1)})
    for suffix, a in (("_pre", pre), ("_post", post)):
        for k, v in _frame(people1, a, suffix).items():
            tier1[k] = v
    for col in PRIORITIES:
        tier1[col + "_pre"] = pre[col]
    _missing_attrs(tier1, {"trust_nhs_pre": (pre["trust_nhs"], {TRUST_DK: "Don't know"}),
                           "q_committee_pre": (pre["q_committee"], {NOT_ANSWERED: "Not answered"})})
    labels = {}
    for k in tier1.columns:
        base = k.removesuffix("_pre").removesuffix("_post")
        when = " (before deliberation)" if k.endswith("_pre") else (
            " (after deliberation)" if k.endswith("_post") else "")
        labels[k] = VARIABLE_LABELS.get(base, k) + when
    tier1.attrs["variable_labels"] = labels
    return tier3, add_knowledge(tier1, seed)


# ---------------------------------------------------------------------- issue #17
# The knowledge quiz of Tier 1 (before and after deliberation, with some participants not
# taking the second quiz) and a control sample surveyed at the same two times. Drawn from
# their own random stream (SEED + 17), so every earlier column is unchanged.
KNOWLEDGE_ITEMS = {
    # column: (statement or question, options, correct answer)
    "know_1": ("NHS patient data can be shared with any researcher without approval",
               ["True", "False"], "False"),
    "know_2": ("The national data opt-out lets people stop their confidential data being "
               "used for research and planning", ["True", "False"], "True"),
    "know_3": ("In a trusted research environment approved researchers analyse data "
               "without downloading it", ["True", "False"], "True"),
    "know_4": ("Data with names and addresses removed can never be re-identified",
               ["True", "False"], "False"),
    "know_5": ("Who decides whether a researcher may use NHS England's data?",
               ["A data access committee", "The researcher's university", "Each GP",
                "The Secretary of State"], "A data access committee"),
    "know_6": ("About how many adults in England have registered a national data opt-out?",
               ["About 1 in 100", "About 1 in 20", "About 1 in 4", "About 1 in 2"],
               "About 1 in 20"),
}
DONT_KNOW = "Don't know"
KNOW_EASE = np.array([0.4, 0.2, -0.3, -0.6, -0.2, -1.0])  # item intercepts (logit of knowing)
QUIZ_STATUS = ["Completed", "Did not complete"]
N_CONTROL = 300


def _quiz(rng: np.random.Generator, ability: np.ndarray, boost: float) -> dict[str, np.ndarray]:
    """Answers to the quiz: a person knows an item with probability expit(ease + ability +
    boost); otherwise says "don't know" (45%) or guesses one of the options at random."""
    n = len(ability)
    out = {}
    for j, (col, (_, options, correct)) in enumerate(KNOWLEDGE_ITEMS.items()):
        knows = rng.random(n) < expit(KNOW_EASE[j] + ability + boost)
        dk = rng.random(n) < 0.45
        guess = np.array(options, dtype=object)[rng.integers(0, len(options), n)]
        out[col] = np.where(knows, correct, np.where(dk, DONT_KNOW, guess)).astype(object)
    return out


def _quiz_column(values: np.ndarray, col: str) -> pd.Categorical:
    return pd.Categorical(values, categories=[*KNOWLEDGE_ITEMS[col][1], DONT_KNOW])


def _quiz_labels(when: str) -> dict[str, str]:
    return {f"{c}_{when}": f"Knowledge: {text} ({'before' if when == 'pre' else 'after'} "
                           "deliberation)" for c, (text, _, _) in KNOWLEDGE_ITEMS.items()}


def add_knowledge(tier1: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """Tier 1 with the knowledge quiz before (``know_*_pre``) and after (``know_*_post``)
    deliberation and ``post_quiz`` (whether the participant took the second quiz): those who
    did not have no ``know_*_post`` answers. Learning is larger for people who knew less;
    drop-out is more likely for people with fewer qualifications and lower knowledge."""
    rng = np.random.default_rng(seed + 17)
    n = len(tier1)
    edu = EDU_RANK[tier1["education"].cat.codes.to_numpy()]
    ability = 0.35 * (edu - 2) + rng.normal(0.0, 1.0, n)
    pre = _quiz(rng, ability, 0.0)
    post = _quiz(rng, ability, 1.1)
    dropped = rng.random(n) < expit(-2.2 - 0.45 * (edu - 2) - 0.5 * ability)
    out = tier1.copy()
    for col in KNOWLEDGE_ITEMS:
        out[f"{col}_pre"] = _quiz_column(pre[col], col)
    for col in KNOWLEDGE_ITEMS:
        out[f"{col}_post"] = _quiz_column(np.where(dropped, None, post[col]), col)
    out["post_quiz"] = pd.Categorical.from_codes(dropped.astype(int), QUIZ_STATUS)
    out.attrs = dict(tier1.attrs)
    out.attrs["variable_labels"] = {
        **tier1.attrs["variable_labels"], **_quiz_labels("pre"), **_quiz_labels("post"),
        "post_quiz": "Took the knowledge quiz after deliberation (an online questionnaire "
                     "sent after the event)",
    }
    return out


def make_control(seed: int = SEED) -> pd.DataFrame:
    """A control sample (SYNTHETIC) of 300 adults who did not deliberate, surveyed at the
    same two times as Tier 1: trust in the NHS and the knowledge quiz, before and after."""
    rng = np.random.default_rng(seed + 1717)
    shares = population_shares()
    people = draw_people(rng, N_CONTROL, shares)
    edu = EDU_RANK[people["education"].to_numpy()]
    age = people["age_group"].to_numpy()
    ability = 0.35 * (edu - 2) + rng.normal(0.0, 1.0, N_CONTROL)
    pre, post = _quiz(rng, ability, 0.0), _quiz(rng, ability, 0.15)
    trust = np.clip(np.round(rng.normal(6.1 + 0.15 * (age - 3) - 0.1 * (edu - 2), 2.2)), 0, 10)
    trust_post = np.clip(np.round(trust + rng.normal(0.1, 1.0, N_CONTROL)), 0, 10)
    control = pd.DataFrame({"control_id": np.arange(1, N_CONTROL + 1), **_demographics(people),
                            "trust_nhs_pre": pd.array(trust, dtype="Int64"),
                            "trust_nhs_post": pd.array(trust_post, dtype="Int64")})
    for when, answers_ in (("pre", pre), ("post", post)):
        for col in KNOWLEDGE_ITEMS:
            control[f"{col}_{when}"] = _quiz_column(answers_[col], col)
    labels = {"control_id": "Control respondent id (SYNTHETIC example data)",
              **{k: VARIABLE_LABELS[k] for k in ("sex", "age_group", "region", "education",
                                                 "ethnicity")},
              "trust_nhs_pre": VARIABLE_LABELS["trust_nhs"] + " (first survey)",
              "trust_nhs_post": VARIABLE_LABELS["trust_nhs"] + " (second survey)",
              **_quiz_labels("pre"), **_quiz_labels("post")}
    control.attrs["variable_labels"] = labels
    control.attrs["missing_reasons"] = {}
    control.attrs["missing_codes"] = {}
    return control


def write(out_dir: Path = HERE, seed: int = SEED) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from delibpoll.io import write_survey

    tier3, tier1 = generate(seed)
    for name, df in (("tier3", tier3), ("tier1", tier1), ("control", make_control(seed))):
        df.to_csv(out_dir / f"{name}.csv", index=False)
        write_survey(df, out_dir / f"{name}.sav")
        print(f"wrote {name}.csv and {name}.sav ({len(df)} rows)")


if __name__ == "__main__":
    write()
