"""How leakmap/special.py looks up its terms, measured: the word-sequence dict it uses
against one combined word-boundary regex and a pyahocorasick automaton (pip install
pyahocorasick; not a dependency), over field texts typical of SDK traffic (keys and values
of the golden corpus kind: event names, property keys, ids, URLs). All three must agree.

    .venv/bin/python benchmarks/bench_special.py
"""

from __future__ import annotations

import random
import re
import string
import time

from leakmap import special

random.seed(7)
ORDINARY = ["$screen_height", "App Open", "Checkout Completed", "https://shop.example/cart?item=42", "en-US",
            "battery_health", "session_started", "com.acme.notes", "Button Tapped", "properties.plan", "1.4.2",
            "Europe/Berlin", "viewed_product", "/screens/settings", "Sign Up", "device_model"]
TEXTS = [random.choice(ORDINARY) if random.random() < 0.6 else
         "".join(random.choices(string.ascii_letters + string.digits, k=random.randint(8, 36))) for _ in range(20_000)]
TEXTS += ["Viewed Diagnosis", "heart_rate", "/screens/pregnancy-tracker"] * 100


def normalised(text: str) -> str:
    return " " + " ".join(special.words(text)) + " "


def main() -> None:
    table, _ = special.term_table()
    terms = sorted(table, key=len, reverse=True)
    regex = re.compile(r" (" + "|".join(re.escape(t) for t in terms) + r") ")
    results = {}

    start = time.perf_counter()
    results["dict of word sequences (used)"] = [bool(special.find.__wrapped__(t)) for t in TEXTS]  # uncached
    timing = {"dict of word sequences (used)": time.perf_counter() - start}

    start = time.perf_counter()
    results["combined regex"] = [bool(regex.search(normalised(t))) for t in TEXTS]
    timing["combined regex"] = time.perf_counter() - start
    try:
        import ahocorasick
    except ImportError:
        print("pyahocorasick not installed: skipped")
    else:
        automaton = ahocorasick.Automaton()
        for term in terms:
            automaton.add_word(f" {term} ", term)
        automaton.make_automaton()
        start = time.perf_counter()
        results["pyahocorasick"] = [next(automaton.iter(normalised(t)), None) is not None for t in TEXTS]
        timing["pyahocorasick"] = time.perf_counter() - start
    baseline = results["dict of word sequences (used)"]
    for name, seconds in timing.items():
        agree = "agrees" if results[name] == baseline else "DISAGREES"
        print(f"{name:32} {seconds * 1e6 / len(TEXTS):6.2f} µs per field  ({agree}; {sum(results[name])} hits)")


if __name__ == "__main__":
    main()
