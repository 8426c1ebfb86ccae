"""Pseudonyms: the name other patients see, never the username (42 CFR Part 2).

Usernames are often real names or e-mail addresses, so a patient created without a
display name gets a friendly generated word pair ("Quiet Heron"); they can choose
their own later (PATCH /api/me). Words are calm and neutral: nothing about illness,
substances, bodies or moods a peer could read into.
"""

from __future__ import annotations

import secrets

ADJECTIVES = (
    "Amber", "Autumn", "Brave", "Bright", "Calm", "Clear", "Cobalt", "Coral", "Cozy", "Crimson",
    "Gentle", "Golden", "Green", "Hazel", "Honest", "Indigo", "Kind", "Lively", "Loyal", "Lucky",
    "Maple", "Merry", "Misty", "Morning", "Noble", "Patient", "Quiet", "Rosy", "Silver", "Spring",
    "Steady", "Sunny", "Swift", "Teal", "Thoughtful", "True", "Velvet", "Warm", "Willow", "Wise",
)  # fmt: skip
NOUNS = (
    "Aspen", "Badger", "Birch", "Brook", "Canyon", "Cedar", "Comet", "Cove", "Crane", "Dune",
    "Falcon", "Fern", "Finch", "Fox", "Glade", "Harbor", "Hawk", "Heron", "Hill", "Lake",
    "Lantern", "Lark", "Meadow", "Moss", "Oak", "Otter", "Owl", "Pebble", "Pine", "Prairie",
    "Raven", "Reef", "River", "Robin", "Sparrow", "Spruce", "Stone", "Tide", "Valley", "Wren",
)  # fmt: skip


def generate(taken: frozenset[str] = frozenset()) -> str:
    """A word pair not in `taken` (compared case-insensitively); a number is added in
    the unlikely case that many tries all collide."""
    folded = {name.casefold() for name in taken}
    for _ in range(50):
        name = f"{secrets.choice(ADJECTIVES)} {secrets.choice(NOUNS)}"
        if name.casefold() not in folded:
            return name
    return f"{secrets.choice(ADJECTIVES)} {secrets.choice(NOUNS)} {secrets.randbelow(90) + 10}"
