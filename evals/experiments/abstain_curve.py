"""The abstention trade-off as a curve: for each threshold, the share of answerable questions refused or
labelled low-confidence against the share of near misses caught (refused or labelled), from the word matches
that nearmiss_features.py prints. Uses the same rule as assistant/abstain.py.

    HF_HUB_OFFLINE=1 python evals/experiments/nearmiss_features.py SETS... > words.jsonl
    python evals/experiments/abstain_curve.py words.jsonl
"""

from __future__ import annotations

import json
import sys

from assistant import abstain
from assistant.abstain import WordMatch


def caught(row: dict, confident: float, gap_one: float) -> bool:
    words = [WordMatch(word=w, df=df, weight=1.0, match=m) for w, df, m in row["words"]]
    if row["relevance"] < confident:
        return True
    if not words or sum(w.match >= abstain.MATCH_FLOOR for w in words) < abstain.MATCHED_SHARE * len(words):
        return False
    one = [w for w in words if w.df <= abstain.RARE_DF and w.match < gap_one]
    two = [w for w in words if w.df <= abstain.COMMON_DF and w.match < abstain.GAP_TWO]
    return bool(one) or len(two) >= 2


def main() -> None:
    with open(sys.argv[1]) as handle:
        rows = [json.loads(line) for line in handle]
    groups = {
        "researcher-phrased": [r for r in rows if "researcher" in r["set"]],
        "lexical": [r for r in rows if "researcher" not in r["set"]],
    }
    print(
        "| confident_threshold | GAP_ONE | "
        + " | ".join(f"{g}: answerable labelled low | {g}: near misses caught" for g in groups)
        + " |"
    )
    print("| --- | --- |" + " --- | --- |" * len(groups))
    for confident in (0.30, 0.35, 0.40, 0.45, 0.50):
        for gap_one in (0.20, 0.25, 0.30, 0.35):
            cells = []
            for group in groups.values():
                answerable = [r for r in group if r["answerable"]]
                near = [r for r in group if not r["answerable"]]
                cells.append(f"{sum(caught(r, confident, gap_one) for r in answerable) / len(answerable):.2f}")
                cells.append(f"{sum(caught(r, confident, gap_one) for r in near) / len(near):.2f}")
            mark = " (default)" if (confident, gap_one) == (0.40, abstain.GAP_ONE) else ""
            print(f"| {confident:.2f}{mark} | {gap_one:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
