"""Deterministic synthetic graphs in the ijkg ontology, conforming to the data shapes.

``generate(path, triples)`` writes about ``triples`` triples of instance data as N-Quads in the
named graph ``https://w3id.org/ijkg/graph/synthetic``, and a manifest (``<path>.json``) with the
counts and the IRIs the query mix draws its parameters from. The same seed and size give the same
bytes, on every machine.

The graph is built of units, one per agreement: a bilateral agreement between two synthetic
states, covering the bundled pillars and sectors, with a target, its monetary amount and period,
a meeting that discusses it, and three claims that reify its facts, each with evidence in a
synthetic news report (a text quote selector). Agreements revise earlier ones and targets succeed
earlier targets of the same pair of states, so property paths have chains to walk. States,
cities, people and sources are shared by many units. It refers to the bundled pillars, sectors
and concepts, so it conforms together with the bundled graph (``tests/bench`` checks that with a
full pyshacl validation).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO

GRAPH = "https://w3id.org/ijkg/graph/synthetic"
ID = "https://w3id.org/ijkg/id/"
IJKG = "https://w3id.org/ijkg/ontology#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
OA = "http://www.w3.org/ns/oa#"
TIME = "http://www.w3.org/2006/time#"
CUR = "http://qudt.org/vocab/currency/"

#: Sizes by name: triples of synthetic instance data (the bundled graph, ~10.8k quads, comes on
#: top in every system).
SIZES = {"tiny": 1_500, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}

# Bundled terms the synthetic data points at (the conformance test fails if one goes away).
PILLARS = [
    ID + f"pillar/{slug}"
    for slug in (
        "economic-partnership",
        "economic-security",
        "mobility",
        "ecological-legacy",
        "technology-and-innovation",
        "health",
        "people-to-people-exchanges",
        "state-prefecture-engagement",
    )
]
SECTORS = [
    ID + f"sector/{slug}"
    for slug in ("artificial-intelligence", "critical-minerals", "semiconductors")
]
MEASURES = [
    ID + f"concept/{slug}"
    for slug in (
        "private-investment",
        "trade",
        "talent-mobility",
        "public-and-private-investment-and-financing",
    )
]
KINDS = ["MemorandumOfCooperation", "JointDeclaration", "ActionPlan", "VisionDocument"]
CURRENCIES = ["JPY", "USD", "INR"]
WORDS = [
    "harbour",
    "railway",
    "solar",
    "hydrogen",
    "lithium",
    "vaccine",
    "satellite",
    "textile",
    "fisheries",
    "monsoon",
    "quantum",
    "semiconductor",
    "forestry",
    "desalination",
    "metro",
    "logistics",
    "tourism",
    "startup",
    "robotics",
    "biotech",
    "nuclear",
    "wind",
    "telecom",
    "drone",
    "maritime",
    "steel",
    "ceramics",
    "aviation",
    "tea",
    "silk",
    "bamboo",
    "coral",
    "glacier",
    "delta",
    "canyon",
    "orchard",
    "granary",
    "lantern",
    "compass",
    "ledger",
    "beacon",
]
NATIONS = [
    "Aravia",
    "Belmora",
    "Corvista",
    "Dunmere",
    "Estoria",
    "Falkmark",
    "Galdora",
    "Helvane",
    "Istria",
    "Jorvale",
    "Kestrel",
    "Lumeria",
    "Marvosa",
    "Norrland",
    "Ostrava",
    "Pellucia",
    "Quenmark",
    "Rosvale",
    "Sarnia",
    "Tavoria",
    "Ulvania",
    "Veloria",
    "Westmere",
    "Xandria",
]
FIRST = [
    "Asha",
    "Kenji",
    "Ravi",
    "Yuki",
    "Meera",
    "Hiro",
    "Anil",
    "Sora",
    "Divya",
    "Taro",
    "Leela",
    "Ken",
    "Nisha",
    "Emi",
    "Arjun",
    "Rin",
]
LAST = [
    "Rao",
    "Sato",
    "Iyer",
    "Tanaka",
    "Menon",
    "Suzuki",
    "Nair",
    "Ito",
    "Das",
    "Kato",
    "Shah",
    "Mori",
    "Bose",
    "Endo",
]
MODALITY_TARGET = ID + "concept/modality-target"
MODALITY_OBSERVATION = ID + "concept/modality-observation"
CONFIDENCE_HIGH = ID + "concept/confidence-high"
ONE_WAY = ID + "concept/direction-one-way"
EPOCH = date(2000, 1, 1)
UNITS_PER_PERSON = 8
UNITS_PER_SOURCE = 16


def _iri(value: str) -> str:
    return f"<{value}>"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _en(text: str) -> str:
    return f'"{_escape(text)}"@en'


def _plain(text: str) -> str:
    return f'"{_escape(text)}"'


def _typed(value: object, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


@dataclass
class Manifest:
    """What was generated, and the IRIs queries draw their parameters from."""

    size: str
    seed: int
    triples: int
    units: int
    graph: str = GRAPH
    counts: dict[str, int] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    persons: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    first_date: str = ""
    last_date: str = ""

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        return cls(**json.loads(path.read_text()))


class _Writer:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.triples = 0
        self.graph = _iri(GRAPH)
        self.counts: dict[str, int] = {}

    def entity(self, kind: str, slug: str, *types: str) -> str:
        subject = ID + f"{kind}/{slug}"
        self.counts[kind] = self.counts.get(kind, 0) + 1
        for t in types:
            self.add(subject, RDF + "type", _iri(t))
        return subject

    def add(self, subject: str, predicate: str, obj: str) -> None:
        self.out.write(f"<{subject}> <{predicate}> {obj} {self.graph} .\n")
        self.triples += 1


def _unit_slug(i: int) -> str:
    return f"synthetic-{i:06d}"


def generate(
    path: Path,
    triples: int,
    *,
    size: str = "",
    seed: int = 7,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Write about ``triples`` triples of conforming instance data to ``path`` (N-Quads) and its
    manifest beside it (``path`` with ``.json``); returns the manifest."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="\n") as out:
        w = _Writer(out)
        manifest = _write(w, triples, rng, progress)
    partial.replace(path)
    manifest.size = size or f"{triples}"
    manifest.seed = seed
    manifest.triples = w.triples
    manifest.counts = dict(sorted(w.counts.items()))
    manifest.save(path.with_suffix(".json"))
    return manifest


def _write(
    w: _Writer, triples: int, rng: random.Random, progress: Callable[[int], None] | None
) -> Manifest:
    manifest = Manifest(size="", seed=0, triples=0, units=0)
    states = _states(w, len(NATIONS))
    cities = [_city(w, j, states[j % len(states)]) for j in range(len(states))]
    manifest.states = states
    persons: list[str] = []
    sources: list[str] = []
    last_target: dict[tuple[int, int], str] = {}
    agreements: list[str] = []
    dates: list[date] = []
    i = 0
    reported = 0
    while w.triples < triples:
        if i % UNITS_PER_SOURCE == 0:
            sources.append(_source(w, len(sources), rng))
        if i % UNITS_PER_PERSON == 0:
            j = len(persons)
            persons.append(_person(w, j, states[j % len(states)]))
        a, b = rng.sample(range(len(states)), 2)
        day = EPOCH + timedelta(days=rng.randrange(25 * 365))
        dates.append(day)
        unit = _Unit(w, rng, i, sources[-1])
        agreement, target = unit.write(
            states[a],
            states[b],
            day,
            revises=agreements[rng.randrange(len(agreements))]
            if agreements and rng.random() < 0.3
            else None,
            succeeds=last_target.get((a, b)),
            persons=(persons[rng.randrange(len(persons))], persons[-1]),
            city=cities[rng.randrange(len(cities))],
        )
        agreements.append(agreement)
        last_target[(a, b)] = target
        i += 1
        if progress is not None and w.triples - reported >= 5000:
            progress(w.triples - reported)
            reported = w.triples
    if progress is not None:
        progress(w.triples - reported)
    manifest.units = i
    # Parameters for the query mix: spread over the whole graph, first to last.
    step = max(1, len(agreements) // 64)
    manifest.agreements = agreements[::step][:64]
    manifest.targets = list(last_target.values())[:64]
    manifest.persons = persons[:: max(1, len(persons) // 16)][:16]
    manifest.words = sorted(WORDS)
    manifest.first_date = min(dates).isoformat() if dates else ""
    manifest.last_date = max(dates).isoformat() if dates else ""
    return manifest


def _states(w: _Writer, n: int) -> list[str]:
    out = []
    for name in NATIONS[:n]:
        s = w.entity("state", f"synthetic-{name.lower()}", IJKG + "State")
        w.add(s, RDFS + "label", _en(f"Republic of {name}"))
        w.add(s, PROV + "wasDerivedFrom", _iri(_source_iri(0)))
        out.append(s)
    return out


def _source_iri(j: int) -> str:
    return ID + f"source/synthetic-report-{j:05d}"


def _source(w: _Writer, j: int, rng: random.Random) -> str:
    s = w.entity("source", f"synthetic-report-{j:05d}", IJKG + "NewsArticle")
    words = " ".join(rng.sample(WORDS, 3))
    w.add(s, RDFS + "label", _en(f"Synthetic report {j}: {words}"))
    w.add(s, IJKG + "url", _iri(f"https://example.org/ijkg-synthetic/report-{j:05d}"))
    day = EPOCH + timedelta(days=rng.randrange(25 * 365))
    w.add(s, IJKG + "publicationDate", _typed(day.isoformat(), "date"))
    return s


def _city(w: _Writer, j: int, state: str) -> str:
    c = w.entity("place", f"synthetic-city-{j:03d}", IJKG + "City")
    w.add(c, RDFS + "label", _en(f"{WORDS[j % len(WORDS)].title()} City {j}"))
    w.add(c, IJKG + "containedInPlace", _iri(state))
    w.add(c, PROV + "wasDerivedFrom", _iri(_source_iri(0)))
    return c


def _person(w: _Writer, j: int, state: str) -> str:
    p = w.entity("person", f"synthetic-person-{j:05d}", IJKG + "Person")
    name = f"{FIRST[j % len(FIRST)]} {LAST[(j // len(FIRST)) % len(LAST)]} {j}"
    w.add(p, RDFS + "label", _en(name))
    w.add(p, IJKG + "represents", _iri(state))
    w.add(p, PROV + "wasDerivedFrom", _iri(_source_iri(0)))
    return p


class _Unit:
    """One agreement with its target, amount, period, meeting, claims and evidence."""

    def __init__(self, w: _Writer, rng: random.Random, i: int, source: str) -> None:
        self.w, self.rng, self.i, self.source = w, rng, i, source
        self.slug = _unit_slug(i)

    def _prov(self, subject: str) -> None:
        self.w.add(subject, PROV + "wasDerivedFrom", _iri(self.source))

    def write(
        self,
        party_a: str,
        party_b: str,
        day: date,
        *,
        revises: str | None,
        succeeds: str | None,
        persons: tuple[str, str],
        city: str,
    ) -> tuple[str, str]:
        w, rng, slug = self.w, self.rng, self.slug
        sector = SECTORS[rng.randrange(len(SECTORS))]
        pillars = rng.sample(PILLARS, rng.choice((1, 2)))
        word = rng.choice(WORDS)
        kind = KINDS[self.i % len(KINDS)]
        name_a = party_a.rsplit("-", 1)[-1].title()
        name_b = party_b.rsplit("-", 1)[-1].title()

        agreement = w.entity("agreement", slug, IJKG + "BilateralAgreement", IJKG + kind)
        label = f"{name_a}–{name_b} {word} agreement {self.i}"
        w.add(agreement, RDFS + "label", _en(label))
        w.add(agreement, DCT + "title", _en(f"Agreement on {word} cooperation, {day.year}"))
        w.add(agreement, IJKG + "party", _iri(party_a))
        w.add(agreement, IJKG + "party", _iri(party_b))
        for pillar in pillars:
            w.add(agreement, IJKG + "coversPillar", _iri(pillar))
        w.add(agreement, IJKG + "coversSector", _iri(sector))
        w.add(agreement, IJKG + "startDate", _typed(day.isoformat(), "date"))
        if revises:
            w.add(agreement, IJKG + "revises", _iri(revises))
        self._prov(agreement)

        target = w.entity("target", slug, IJKG + "Target")
        w.add(agreement, IJKG + "hasTarget", _iri(target))
        amount = w.entity("amount", slug, IJKG + "MonetaryAmount")
        period = w.entity("period", slug, IJKG + "Period")
        value = rng.randrange(1, 1000) * 10 ** rng.randrange(6, 12)
        currency = CURRENCIES[self.i % len(CURRENCIES)]
        years = rng.choice((3, 5, 10))
        w.add(target, RDFS + "label", _en(f"{currency} {value:,} for {word}, {name_a} to {name_b}"))
        w.add(target, IJKG + "amount", _iri(amount))
        w.add(target, IJKG + "period", _iri(period))
        w.add(target, IJKG + "setBy", _iri(party_a))
        w.add(target, IJKG + "origin", _iri(party_a))
        w.add(target, IJKG + "recipient", _iri(party_b))
        w.add(target, IJKG + "direction", _iri(ONE_WAY))
        w.add(target, IJKG + "measure", _iri(MEASURES[self.i % len(MEASURES)]))
        w.add(target, IJKG + "modality", _iri(MODALITY_TARGET))
        w.add(target, IJKG + "coversPillar", _iri(pillars[0]))
        if succeeds:
            w.add(target, IJKG + "succeeds", _iri(succeeds))
        self._prov(target)

        w.add(amount, RDFS + "label", _en(f"{currency} {value:,}"))
        w.add(amount, IJKG + "numericValue", _typed(value, "integer"))
        w.add(amount, IJKG + "currency", _iri(CUR + currency))
        w.add(amount, IJKG + "surfaceText", _plain(f"{currency} {value:,}"))
        self._prov(amount)

        w.add(period, RDFS + "label", _en(f"{day.year}-{day.year + years - 1}"))
        w.add(period, TIME + "hasXSDDuration", _typed(f"P{years}Y", "duration"))
        w.add(period, IJKG + "startYear", _typed(day.year, "gYear"))
        w.add(period, IJKG + "endYear", _typed(day.year + years - 1, "gYear"))
        self._prov(period)

        if self.i % 2 == 0:
            meeting = w.entity("meeting", slug, IJKG + "Meeting")
            w.add(meeting, RDFS + "label", _en(f"Meeting on the {word} agreement {self.i}"))
            w.add(meeting, IJKG + "startDate", _typed(day.isoformat(), "date"))
            w.add(meeting, IJKG + "place", _iri(city))
            for person in dict.fromkeys(persons):
                w.add(meeting, IJKG + "participant", _iri(person))
            w.add(meeting, IJKG + "discusses", _iri(agreement))
            self._prov(meeting)

        facts = (
            (agreement, IJKG + "party", _iri(party_a), f"{name_a} is a party to {label}."),
            (agreement, IJKG + "hasTarget", _iri(target), f"{label} sets a {word} target."),
            (
                agreement,
                IJKG + "startDate",
                _typed(day.isoformat(), "date"),
                f"{label} was signed on {day.isoformat()}.",
            ),
        )
        for n, (s, p, o, sentence) in enumerate(facts, start=1):
            self._claim(n, s, p, o, sentence)
        return agreement, target

    def _claim(self, n: int, s: str, p: str, o: str, sentence: str) -> None:
        w = self.w
        slug = f"{self.slug}-{n}"
        claim = w.entity("claim", slug, IJKG + "Claim")
        evidence = w.entity("evidence", slug, IJKG + "Evidence")
        selector = w.entity("selector", slug, OA + "TextQuoteSelector")
        w.add(claim, RDFS + "label", _en(f"{sentence[:-1]} (claim)"))
        w.add(claim, RDF + "subject", _iri(s))
        w.add(claim, RDF + "predicate", _iri(p))
        w.add(claim, RDF + "object", o)
        w.add(claim, IJKG + "modality", _iri(MODALITY_OBSERVATION))
        w.add(claim, IJKG + "confidence", _iri(CONFIDENCE_HIGH))
        w.add(claim, IJKG + "quote", _plain(sentence))
        w.add(claim, IJKG + "evidence", _iri(evidence))
        self._prov(claim)
        w.add(evidence, OA + "hasSource", _iri(self.source))
        w.add(evidence, IJKG + "segmentId", _plain(f"S{(self.i * 3 + n) % 1000}"))
        w.add(evidence, OA + "hasSelector", _iri(selector))
        w.add(selector, OA + "exact", _plain(sentence))


def change_quads(manifest: Manifest, n: int, *, triples: int = 100) -> Iterator[str]:
    """N-Quads lines of a conforming change of about ``triples`` triples that links into the
    existing graph (new agreements between existing states, revising an existing agreement): what
    a curator's change looks like. ``n`` makes each change distinct."""
    import io

    out = io.StringIO()
    w = _Writer(out)
    rng = random.Random(10_000 + n)
    i = 0
    while w.triples < triples * 0.9:  # one unit is 90-100 triples
        a, b = rng.sample(range(len(manifest.states)), 2)
        unit = _Unit(w, rng, 900_000 + n * 100 + i, _source_iri(0))
        unit.slug = f"change-{n:05d}-{i:02d}"
        unit.write(
            manifest.states[a],
            manifest.states[b],
            EPOCH + timedelta(days=rng.randrange(25 * 365)),
            revises=manifest.agreements[rng.randrange(len(manifest.agreements))],
            succeeds=manifest.targets[rng.randrange(len(manifest.targets))],
            persons=(manifest.persons[0], manifest.persons[-1]),
            city=ID + "place/synthetic-city-000",
        )
        i += 1
    yield from out.getvalue().splitlines()


def parse_size(name: str) -> int:
    """``'10k'`` -> 10000; ``'1m'`` -> 1000000; plain numbers too."""
    key = name.strip().lower()
    if key in SIZES:
        return SIZES[key]
    if key.endswith("k"):
        return int(float(key[:-1]) * 1_000)
    if key.endswith("m"):
        return int(float(key[:-1]) * 1_000_000)
    return int(key)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from rich.progress import Progress

    parser = argparse.ArgumentParser(description="Write a synthetic ijkg graph as N-Quads.")
    parser.add_argument("size", help="10k, 100k, 1m or a number of triples")
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    triples = parse_size(args.size)
    with Progress() as bar:
        task = bar.add_task(f"generating {args.size}", total=triples)
        manifest = generate(
            args.output,
            triples,
            size=args.size,
            seed=args.seed,
            progress=lambda k: bar.advance(task, k),
        )
    print(json.dumps({k: v for k, v in asdict(manifest).items() if not isinstance(v, list)}))
    return 0


def describe(manifest: Manifest) -> dict[str, Any]:
    return {k: v for k, v in asdict(manifest).items() if not isinstance(v, list)}


if __name__ == "__main__":
    raise SystemExit(main())
