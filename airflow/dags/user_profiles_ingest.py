"""user_profiles_ingest: user profiles -> the control plane's validated ingest path -> Kafka.

get_profiles   fetches N profiles from an HTTP API when one is configured (Airflow Variable
               `user_profiles_url`, else env USER_PROFILES_URL; a `{count}` in the URL is replaced by N),
               or, by default, makes N fake but plausible profiles offline, deterministic per run (seeded
               with the DAG id and the run id, so a retried run sends the same people).
post_profiles  POSTs them as one JSON array to the control plane, POST /api/v1/ingest/users, through the
               connection `pipeline_api` (host and port; its password is the API key, sent as X-API-Key;
               see pipeline_api.py), with Idempotency-Key "airflow:<dag_id>:<run_id>" so a retry yields the
               same event ids. Returns the eventIds (XCom return_value): GET /api/v1/records/users shows them.
               A 4xx fails the task at once with the control plane's message; other errors are retried.

N: dag_run.conf {"count": N} (params.count, 1..1000, default 5). Every minute when unpaused; paused on creation.
"""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, Variable, get_current_context, task

from pipeline_api import PipelineApi

DAG_ID = "user_profiles_ingest"
INGEST_ENDPOINT = "/api/v1/ingest/users"

# ---------------------------------------------------------------------------------------------------
# The offline generator: pure functions of (count, seed), no Airflow, tested in airflow/tests.
# ---------------------------------------------------------------------------------------------------
_FIRST = {
    "female": [
        "Ada",
        "Grace",
        "Marie",
        "Emmy",
        "Hedy",
        "Lise",
        "Rosalind",
        "Katherine",
        "Barbara",
        "Frances",
        "Sofia",
        "Ingrid",
        "Amelie",
        "Chloe",
        "Elena",
        "Hanna",
        "Ines",
        "Julia",
        "Laura",
        "Nora",
    ],
    "male": [
        "Alan",
        "Edsger",
        "Donald",
        "Niklaus",
        "John",
        "Claude",
        "Dennis",
        "Ken",
        "Linus",
        "Tim",
        "Lucas",
        "Mateo",
        "Noah",
        "Oskar",
        "Paul",
        "Rafael",
        "Samuel",
        "Theo",
        "Victor",
        "Yusuf",
    ],
}
_LAST = [
    "Lovelace",
    "Hopper",
    "Curie",
    "Noether",
    "Lamarr",
    "Meitner",
    "Franklin",
    "Johnson",
    "Liskov",
    "Allen",
    "Turing",
    "Dijkstra",
    "Knuth",
    "Wirth",
    "Backus",
    "Shannon",
    "Ritchie",
    "Thompson",
    "Torvalds",
    "Berners",
    "Garcia",
    "Muller",
    "Rossi",
    "Novak",
    "Larsen",
    "Silva",
    "Dubois",
    "Kowalski",
    "Jansen",
    "Fischer",
]
_STREETS = [
    "Main Street",
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Mill Road",
    "Oak Drive",
    "Elm Street",
    "Victoria Road",
    "Green Lane",
    "King Street",
    "Queensway",
]
_PLACES = [
    ("Leeds", "West Yorkshire", "United Kingdom"),
    ("Bristol", "Somerset", "United Kingdom"),
    ("Lyon", "Rhone", "France"),
    ("Porto", "Porto", "Portugal"),
    ("Graz", "Styria", "Austria"),
    ("Utrecht", "Utrecht", "Netherlands"),
    ("Aarhus", "Midtjylland", "Denmark"),
    ("Bergen", "Vestland", "Norway"),
    ("Dresden", "Saxony", "Germany"),
    ("Cork", "Munster", "Ireland"),
]
_DOMAINS = ["example.com", "example.org", "example.net"]
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
EMAIL_RE = re.compile(r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def make_profile(rng: random.Random, taken: set[str] | None = None) -> dict[str, Any]:
    """One plausible profile drawn from rng; its email and username avoid those in `taken` (then added)."""
    taken = taken if taken is not None else set()
    gender = rng.choice(("female", "male"))
    first, last = rng.choice(_FIRST[gender]), rng.choice(_LAST)
    while True:
        number = rng.randint(10, 9999)
        username = f"{first}{last}{number}".lower()
        if username not in taken:
            taken.add(username)
            break
    city, state, country = rng.choice(_PLACES)
    dob = _EPOCH - timedelta(days=rng.randint(18 * 365, 80 * 365), seconds=rng.randint(0, 86399))
    registered = _EPOCH - timedelta(days=rng.randint(1, 15 * 365), seconds=rng.randint(0, 86399))
    picture_dir = "women" if gender == "female" else "men"
    return {
        "first_name": first,
        "last_name": last,
        "gender": gender,
        "address": f"{rng.randint(1, 250)} {rng.choice(_STREETS)}, {city}, {state}, {country}",
        "post_code": f"{rng.randint(1000, 99999):05d}",
        "email": f"{first}.{last}{number}@{rng.choice(_DOMAINS)}".lower(),
        "username": username,
        "dob": _iso(dob),
        "registered_date": _iso(registered),
        "phone": f"0{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "picture": f"https://example.com/portraits/{picture_dir}/{rng.randint(0, 99)}.jpg",
    }


def make_profiles(count: int, seed: str) -> list[dict[str, Any]]:
    """`count` profiles, the same ones for the same seed (random.Random with a str seed is stable across runs)."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    rng = random.Random(seed)
    taken: set[str] = set()
    return [make_profile(rng, taken) for _ in range(count)]


def from_api(body: Any) -> list[dict[str, Any]]:
    """Profiles from an HTTP API's JSON: a list of flat profiles, or randomuser.me's {"results": [...]}."""
    items = body.get("results") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise ValueError("expected a JSON array of profiles or an object with a 'results' array")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError(f"a profile must be a JSON object, got {type(item).__name__}")
        if "name" in item and isinstance(item["name"], dict):  # randomuser.me shape
            loc = item.get("location", {})
            street = loc.get("street", {})
            item = {
                "first_name": item["name"].get("first"),
                "last_name": item["name"].get("last"),
                "gender": item.get("gender"),
                "address": f"{street.get('number', '')} {street.get('name', '')}, {loc.get('city', '')}, "
                f"{loc.get('state', '')}, {loc.get('country', '')}".strip(),
                "post_code": loc.get("postcode"),
                "email": item.get("email"),
                "username": (item.get("login") or {}).get("username"),
                "dob": (item.get("dob") or {}).get("date"),
                "registered_date": (item.get("registered") or {}).get("date"),
                "phone": item.get("phone"),
                "picture": (item.get("picture") or {}).get("medium"),
            }
        out.append({k: v for k, v in item.items() if v is not None})
    return out


# ---------------------------------------------------------------------------------------------------
# The DAG
# ---------------------------------------------------------------------------------------------------
with DAG(
    dag_id=DAG_ID,
    description="User profiles (HTTP API or offline generator) -> POST /api/v1/ingest/users",
    schedule="* * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    params={"count": Param(5, type="integer", minimum=1, maximum=1000, description="How many profiles")},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10), "execution_timeout": timedelta(minutes=2)},
    tags=["pipeline", "ingest", "users"],
    doc_md=__doc__,
) as dag:

    @task
    def get_profiles() -> list[dict[str, Any]]:
        ctx = get_current_context()
        count = int(ctx["params"]["count"])
        url = Variable.get("user_profiles_url", default=None) or os.environ.get("USER_PROFILES_URL") or None
        if not url:
            profiles = make_profiles(count, seed=f"{DAG_ID}:{ctx['run_id']}")
            print(f"generated {len(profiles)} profiles offline (seed run_id={ctx['run_id']})")
            return profiles
        import requests

        url = url.replace("{count}", str(count))
        res = requests.get(url, timeout=30, headers={"Accept": "application/json"})
        res.raise_for_status()
        profiles = from_api(res.json())[:count]
        print(f"fetched {len(profiles)} profiles from {url}")
        return profiles

    @task
    def post_profiles(profiles: list[dict[str, Any]]) -> list[str]:
        if not profiles:
            print("no profiles to send")
            return []
        ctx = get_current_context()
        body = PipelineApi().post(
            INGEST_ENDPOINT,
            profiles,
            headers={"Idempotency-Key": f"airflow:{DAG_ID}:{ctx['run_id']}"},
        )
        event_ids = body.get("eventIds", [])
        print(f"accepted={body.get('accepted')} eventIds={event_ids}")
        return event_ids

    post_profiles(get_profiles())
