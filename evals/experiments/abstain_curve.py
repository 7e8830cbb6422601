"""The abstention trade-off as a curve: for each threshold, the share of answerable questions refused or
labelled low-confidence against the share of near misses caught (refused or labelled), from the word matches
that nearmiss_features.py prints, over confident_threshold and GAP_TWO (GAP_ONE stays at its default: at
0.30 the README example's word "beat", 0.31, would sit on its edge). Uses the same rule as assistant/abstain.py.

    HF_HUB_OFFLINE=1 python evals/experiments/nearmiss_features.py SETS... > words.jsonl
    python evals/experiments/abstain_curve.py words.jsonl
"""

from __future__ import annotations

import json
import sys

from assistant import abstain
from assistant.abstain import WordMatch
from assistant.config import Settings


def caught(row: dict, confident: float, gap_two: float, gap_one: float = abstain.GAP_ONE) -> bool:
    words = [WordMatch(word=w, df=df, weight=1.0, match=m) for w, df, m in row["words"]]
    if row["relevance"] < confident:
        return True
    if not words or sum(w.match >= abstain.MATCH_FLOOR for w in words) < abstain.MATCHED_SHARE * len(words):
        return False
    one = [w for w in words if w.df <= abstain.RARE_DF and w.match < gap_one]
    two = [w for w in words if w.df <= abstain.COMMON_DF and w.match < gap_two]
    return bool(one) or len(two) >= 2


def main() -> None:
    with open(sys.argv[1]) as handle:
        rows = [json.loads(line) for line in handle]
    groups = {
        "researcher-phrased": [r for r in rows if "researcher" in r["set"]],
        "lexical": [r for r in rows if "researcher" not in r["set"]],
    }
    print(
        "| confident_threshold | GAP_TWO | "
        + " | ".join(f"{g}: answerable labelled low | {g}: near misses caught" for g in groups)
        + " |"
    )
    print("| --- | --- |" + " --- | --- |" * len(groups))
    default = (Settings().retrieval.confident_threshold, abstain.GAP_TWO)
    for confident in (0.30, 0.35, 0.40, 0.45):
        for gap_two in (0.35, 0.40, 0.45, 0.50):
            cells = []
            for group in groups.values():
                answerable = [r for r in group if r["answerable"]]
                near = [r for r in group if not r["answerable"]]
                cells.append(f"{sum(caught(r, confident, gap_two) for r in answerable) / len(answerable):.2f}")
                cells.append(f"{sum(caught(r, confident, gap_two) for r in near) / len(near):.2f}")
            mark = " (default)" if (confident, gap_two) == default else ""
            print(f"| {confident:.2f}{mark} | {gap_two:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
