"""Generate the SYNTHETIC second example cohort (Cohort 2, primary care data).

Run from the repository root: ``python data/example/make_cohort2.py``. Deterministic: the
same seed gives byte-identical files. Everything here is synthetic: no respondent is real,
and no figure here is published (Cohort 2's report gives no figures for these questions:
the shares below are INVENTED to illustrate tracking across cohorts).

Cohort 2 has the same three tiers' shape as the bundled Cohort 1 (``make_example.py``): a
Tier 3 online-panel survey (1,000 adults, with online-panel skews, weights to rake to the
ONS margins) and a Tier 1 deliberation (120 people in four hubs, 16 discussion groups)
answering before and after. It shares three questions with Cohort 1 (``q_pact``,
``q_charge``, ``trust_nhs``: same wording and categories) and has two of its own on GP data
(``q_gp_planning``, ``q_single_record``). The answer models are Cohort 1's, with invented
population shares (Data Pact "Increase confidence" 56%, "No impact" 26%; "Wrong" to charge
40%) and a weaker deliberation effect on the Data Pact, so that the tracking tables have
differences to show.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
_spec = importlib.util.spec_from_file_location("make_example", HERE / "make_example.py")
assert _spec is not None and _spec.loader is not None
ex = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ex)

SEED = 20250902
N_TIER3 = 1000
HUBS = {"Leeds": 30, "Birmingham": 30, "Bristol": 30, "Newcastle": 30}
PREFIX = "cohort2"
SUFFIX = "synthetic"

PACT_INCREASE = 0.56
PACT_NO_IMPACT_GIVEN_NOT = 0.26 / (1 - PACT_INCREASE)
CHARGE_WRONG = 0.40
Q_SUPPORT = ["Support", "Oppose", "Don't know"]

VARIABLE_LABELS = {
    **{k: v for k, v in ex.VARIABLE_LABELS.items() if not k.startswith("prio_")},
    "respondent_id": "Respondent id (SYNTHETIC example data, Cohort 2)",
    "participant_id": "Participant id (SYNTHETIC example data, Cohort 2)",
    "q_gp_planning": "Should GP records be used to plan NHS services, beyond individual care?",
    "q_single_record": "Do you support a single patient record shared across NHS services?",
}


def gp_logit(codes: pd.DataFrame) -> np.ndarray:
    return (0.12 * (codes["age_group"].to_numpy() - 3)
            + 0.10 * (ex.EDU_RANK[codes["education"].to_numpy()] - 2))


def answers(rng: np.random.Generator, codes: pd.DataFrame, a_pact: float, a_charge: float,
            a_gp: float) -> dict[str, np.ndarray]:
    n = len(codes)
    age = codes["age_group"].to_numpy()
    edu = ex.EDU_RANK[codes["education"].to_numpy()]
    p_inc = ex.expit(a_pact + ex.pact_logit(codes))
    u, v = rng.random(n), rng.random(n)
    pact = np.where(u < p_inc, 0, np.where(v < PACT_NO_IMPACT_GIVEN_NOT, 1,
                    np.where(rng.random(n) < 0.55, 2, 3)))
    p_wrong = ex.expit(a_charge + ex.charge_logit(codes, np.zeros(n)))
    charge = np.where(rng.random(n) < p_wrong, 1, np.where(rng.random(n) < 0.70, 0, 2))
    trust = np.clip(np.round(rng.normal(5.8 + 0.15 * (age - 3) - 0.1 * (edu - 2), 2.3)), 0, 10)
    trust = np.where(rng.random(n) < 0.05, ex.TRUST_DK, trust)
    p_gp = ex.expit(a_gp + gp_logit(codes))
    gp = np.where(rng.random(n) < p_gp, 0, np.where(rng.random(n) < 0.65, 1, 2))
    p_rec = ex.expit(0.45 + 0.10 * (age - 3))
    rec = np.where(rng.random(n) < p_rec, 0, np.where(rng.random(n) < 0.6, 1, 2))
    return {"q_pact": pact, "q_charge": charge, "trust_nhs": trust, "q_gp_planning": gp,
            "q_single_record": rec}


def deliberate(rng: np.random.Generator, pre: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """After deliberation: somewhat more confident (less than Cohort 1), fewer don't knows,
    more support for GP data in planning, a little more trust."""
    n = len(pre["q_pact"])
    post = {k: v.copy() for k, v in pre.items()}
    move = (pre["q_pact"] != 0) & (rng.random(n) < 0.25)
    post["q_pact"] = np.where(move, 0, pre["q_pact"])
    back = (pre["q_pact"] == 0) & (rng.random(n) < 0.06)
    post["q_pact"] = np.where(back, 1, post["q_pact"])
    dk = (pre["q_charge"] == 2) & (rng.random(n) < 0.6)
    post["q_charge"] = np.where(dk, rng.choice([0, 1], n, p=[0.5, 0.5]), pre["q_charge"])
    t = pre["trust_nhs"].astype(float)
    known = t != ex.TRUST_DK
    post["trust_nhs"] = np.where(known, np.clip(np.round(t + rng.normal(0.4, 1.2, n)), 0, 10), 6.0)
    gp = (pre["q_gp_planning"] != 0) & (rng.random(n) < 0.35)
    post["q_gp_planning"] = np.where(gp, 0, pre["q_gp_planning"])
    rec = (pre["q_single_record"] == 2) & (rng.random(n) < 0.5)
    post["q_single_record"] = np.where(rec, 0, pre["q_single_record"])
    return post


def _frame(ans: dict[str, np.ndarray], suffix: str = "") -> dict[str, object]:
    trust = ans["trust_nhs"].astype(float)
    return {
        "q_pact" + suffix: ex._labelled(ans["q_pact"], ex.Q_PACT),
        "q_charge" + suffix: ex._labelled(ans["q_charge"], ex.Q_CHARGE),
        "trust_nhs" + suffix: pd.array(np.where(trust == ex.TRUST_DK, np.nan, trust), dtype="Int64"),
        "q_gp_planning" + suffix: ex._labelled(ans["q_gp_planning"], Q_SUPPORT),
        "q_single_record" + suffix: ex._labelled(ans["q_single_record"], Q_SUPPORT),
    }


def generate(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (tier3, tier1) frames of Cohort 2. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    shares = ex.population_shares()
    pop = ex.draw_people(rng, 400_000, shares)
    a_pact = ex.solve_intercept(ex.pact_logit(pop), PACT_INCREASE)
    a_charge = ex.solve_intercept(ex.charge_logit(pop, np.zeros(len(pop))), CHARGE_WRONG)
    a_gp = ex.solve_intercept(gp_logit(pop), 0.48)

    panel_skew = {
        "age_group": np.array([0.9, 1.1, 1.2, 1.2, 1.1, 0.9, 0.45]),
        "education": np.array([0.5, 0.9, 1.0, 0.9, 1.0, 1.35, 0.8]),
        "sex": np.array([1.04, 0.96]),
        "ethnicity": np.array([1.02, 0.92, 0.88, 1.0, 0.85]),
    }
    people = ex.draw_people(rng, N_TIER3, shares, panel_skew)
    ans = answers(rng, people, a_pact, a_charge, a_gp)
    tier3 = pd.DataFrame({"respondent_id": np.arange(1, N_TIER3 + 1), **ex._demographics(people),
                          **_frame(ans)})
    ex._missing_attrs(tier3, {"trust_nhs": (ans["trust_nhs"], {ex.TRUST_DK: "Don't know"})})
    tier3.attrs["variable_labels"] = {k: v for k, v in VARIABLE_LABELS.items() if k in tier3}

    n1 = sum(HUBS.values())
    t1_skew = {"education": np.array([0.6, 0.9, 1.0, 0.9, 1.0, 1.5, 0.8])}
    people1 = ex.draw_people(rng, n1, shares, t1_skew)
    pre = answers(rng, people1, a_pact, a_charge, a_gp)
    post = deliberate(rng, pre)
    hubs = np.repeat(list(HUBS), list(HUBS.values()))
    group = np.empty(n1, dtype=object)
    start = 0
    for hub, size in HUBS.items():
        g = np.repeat(np.arange(4), [8, 8, 7, 7])
        group[start:start + size] = [f"{hub[:3].upper()}-{j + 1}" for j in rng.permutation(g)]
        start += size
    tier1 = pd.DataFrame({"participant_id": np.arange(1, n1 + 1),
                          "hub": pd.Categorical(hubs, categories=list(HUBS)),
                          "group_id": group.astype(str), **ex._demographics(people1)})
    for suffix, a in (("_pre", pre), ("_post", post)):
        for k, v in _frame(a, suffix).items():
            tier1[k] = v
    ex._missing_attrs(tier1, {"trust_nhs_pre": (pre["trust_nhs"], {ex.TRUST_DK: "Don't know"})})
    labels = {}
    for k in tier1.columns:
        base = k.removesuffix("_pre").removesuffix("_post")
        when = " (before deliberation)" if k.endswith("_pre") else (
            " (after deliberation)" if k.endswith("_post") else "")
        labels[k] = VARIABLE_LABELS.get(base, k) + when
    tier1.attrs["variable_labels"] = labels
    return tier3, tier1


def write(out_dir: Path = HERE, seed: int = SEED) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from delibpoll.io import write_survey

    tier3, tier1 = generate(seed)
    for tier, df in (("tier3", tier3), ("tier1", tier1)):
        name = f"{PREFIX}_{tier}_{SUFFIX}"
        df.to_csv(out_dir / f"{name}.csv", index=False)
        sav = out_dir / f"{name}.sav"
        write_survey(df, sav)
        # the header's creation date and time (bytes 92-108) would change the file on every
        # run (as make_agency_sav.py): a fixed date keeps the file byte-identical
        raw = bytearray(sav.read_bytes())
        raw[92:109] = b"02 Sep 2512:00:00"
        sav.write_bytes(bytes(raw))
        print(f"wrote {name}.csv and {name}.sav ({len(df)} rows)")


if __name__ == "__main__":
    write()
