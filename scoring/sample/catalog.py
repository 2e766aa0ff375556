"""The fixed vocabulary of the demo portfolio: signals, storylines, names and segment economics.

Kept apart from the generator so that tests and benchmarks can build data that looks like the
demo's (same CSMs, segments, weekday rhythm) without drawing a whole portfolio.
"""

from __future__ import annotations

import numpy as np

SIGNALS = ("active_users", "features_used", "tickets_opened", "invoices_overdue", "nps")
USAGE_SIGNALS = ["active_users", "features_used"]
# Storyline -> (share of accounts, health Beta(a, b), usage decline lo..hi; negative = growth).
# "cliff" accounts are sliding ones whose usage steps down in the final week; "no_feedback" and
# "stale" are the accounts with a missing source. Whatever the shares leave over is "stable".
STORYLINES: dict[str, tuple[float, float, float, float, float]] = {
    "stable": (0.0, 6.0, 2.0, -0.10, 0.10),
    "sliding": (0.08, 4.0, 2.5, 0.30, 0.60),
    "cliff": (0.04, 4.0, 2.5, 0.00, 0.15),
    "expanding": (0.08, 4.0, 3.0, -0.50, -0.20),
    "no_feedback": (0.02, 4.0, 2.5, -0.10, 0.10),
    "stale": (0.02, 4.0, 2.5, -0.10, 0.10),
    "churned": (0.05, 2.5, 3.0, 0.00, 0.70),
}
SPECIAL_NAMES = [
    "Acme Corp",
    "Northwind Logistics",
    "Bright & Early Bakeries",
    "Rocket 🚀 Labs",
    "Signal <> Noise Analytics",
]
PREFIXES = (
    "Blue Harbor, Brookfield, Larkspur, Summit, Evergreen, Redwood, Silverline, Brightpath, "
    "Ironclad, Cedar, Lighthouse, Granite, Horizon, Pioneer, Riverstone, Copperleaf, Atlas, "
    "Beacon, Falcon, Meridian, Oakridge, Pinnacle, Quantum, Sterling, Tidewater, Vantage, "
    "Willow, Zenith, Maple, Crescent, Harborview, Juniper, Lakeshore, Keystone, Nimbus, Orchid, "
    "Polaris, Sapphire, Bluebird, Trailhead, Coastal, Driftwood, Everest, Foxglove, Highland"
).split(", ")
SUFFIXES = (
    "Logistics, Analytics, Health, Dental, Robotics, Foods, Freight, Insurance, Labs, Software, "
    "Systems, Energy, Capital, Media, Retail, Pharma, Manufacturing, Consulting, Realty, Bank, "
    "Telecom, Learning, Security, Travel, Outfitters, Biotech, Partners, Studios, Supply Co"
).split(", ")
CSMS = (
    "maria.lopez james.chen priya.patel tom.becker aisha.khan lucas.silva emma.johansson"
    " kenji.tanaka sofia.rossi"
).split()
SEGMENTS = np.array(["SMB", "Mid-Market", "Enterprise"])
SEGMENT_SHARES = [0.6, 0.3, 0.1]
ARR_RANGE = np.array([[5_000, 30_000], [30_000, 150_000], [150_000, 1_200_000]], dtype=float)
SEAT_PRICE = np.array([400.0, 600.0, 900.0])  # ARR per licensed seat, by segment
TICKET_RATE = np.array([1.0, 1.3, 1.6])  # bigger customers file more tickets
# Monday..Sunday: B2B products are quiet at weekends.
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.3, 0.2])
