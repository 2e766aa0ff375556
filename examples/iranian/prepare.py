"""Turn the Iranian telecom churn CSV (UCI 563) into the exports healthbot syncs.

The file is one snapshot per customer (usage aggregated over months 1-9) and a churn flag for
month 12, with no ids and no dates. healthbot needs accounts with ids, dated signals and dated
outcomes, so this script gives every customer an id, dates every signal at the end of month 9
(2024-09-30) and every outcome at the end of month 12 (2024-12-31, 92 days later: the model's
backtest horizon). The dates are made up; the 3-month gap between what is known and what
happened is the data set's own.

Two caveats of the data set are handled here (see shared/data/README.md): `Status` is recorded
at the same time as churn and leaks the answer, so it is left out; the 300 exact duplicate rows
are dropped, so a customer cannot sit on both sides of a train/test split.

    python prepare.py [--csv PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE.parents[2] / "shared" / "data" / "iranian_telecom_churn_uci563.csv"
SIGNAL_DATE = "2024-09-30"
OUTCOME_DATE = "2024-12-31"
LEAKS = ["Status"]
# CSV column (after collapsing double spaces) -> signal name.
SIGNALS = {
    "Call Failure": "call_failures",
    "Complains": "complains",
    "Subscription Length": "subscription_months",
    "Charge Amount": "charge_band",
    "Seconds of Use": "seconds_of_use",
    "Frequency of use": "calls",
    "Frequency of SMS": "sms",
    "Distinct Called Numbers": "distinct_numbers",
    "Age Group": "age_group",
    "Age": "age",
    "Customer Value": "customer_value",
}
TARIFF = {1: "pay-as-you-go", 2: "contractual"}


def read(csv: Path) -> pd.DataFrame:
    """The CSV with tidy column names, duplicates and the leaking column dropped, ids added."""
    raw = pd.read_csv(csv)
    raw.columns = [" ".join(c.split()) for c in raw.columns]
    data = raw.drop_duplicates().drop(columns=LEAKS).reset_index(drop=True)
    data.insert(0, "account_id", [f"ir-{i:04d}" for i in range(1, len(data) + 1)])
    return data


def exports(data: pd.DataFrame) -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": data["account_id"],
            "name": "Subscriber " + data["account_id"].str.removeprefix("ir-"),
            "segment": data["Tariff Plan"].map(TARIFF),
        }
    )
    wide = data[["account_id", *SIGNALS]].rename(columns=SIGNALS)
    signals = wide.melt(id_vars="account_id", var_name="signal", value_name="value")
    signals.insert(1, "date", SIGNAL_DATE)
    outcomes = pd.DataFrame(
        {
            "account_id": data["account_id"],
            "date": OUTCOME_DATE,
            "outcome": data["Churn"].map({1: "churned", 0: "renewed"}),
        }
    )
    return {"accounts": accounts, "signals": signals, "outcomes": outcomes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the UCI 563 CSV")
    parser.add_argument("--out", type=Path, default=HERE / "exports", help="output directory")
    args = parser.parse_args()
    data = read(args.csv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in exports(data).items():
        frame.to_csv(args.out / f"{name}.csv", index=False)
    churned = int(data["Churn"].sum())
    print(
        f"{len(data):,} customers ({churned:,} churned, {churned / len(data):.1%}) written to"
        f" {args.out}/accounts.csv, signals.csv and outcomes.csv"
    )


if __name__ == "__main__":
    main()
