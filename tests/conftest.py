import importlib.util

pytest_plugins = [
    name
    for name in ("tests.slack_double", "tests.db_fixtures", "tests.in_place_fixtures")
    if importlib.util.find_spec(name)
]
