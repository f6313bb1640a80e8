"""The nouns of a product title, for the type reward's title score (a rule tagger standing in for spaCy).

The original reward (``web_agent_site/engine/goal.py``) runs spaCy's ``en_core_web_sm`` over both titles and
keeps the tokens tagged ``NOUN`` or ``PROPN``. That model is not used here, on purpose:

* the only installable copies of ``en_core_web_sm`` on the package registries are third-party re-uploads of
  3.6/3.8, and with those the original's own reward tests fail (three of the four title scores in
  ``test_get_type_reward``: e.g. 0.40 where the test expects 0.333, 0.3125 where it expects 0.30). The tests were
  written against the 2022 model (spaCy 3.3), which does not install on Python 3.11;
* a statistical tagger is slow (2.5 ms a title with only tok2vec+tagger) and ~350 MB of dependencies.

What this tagger does instead, deterministically: in a Title Case product name, en_core_web_sm tags nearly every
capitalised word as a proper noun, whatever its part of speech in running text ("Breathable", "Off", "White" are
all PROPN). So:

1. Tokens are runs of letters and digits (``D.O.N.`` is three tokens, ``SC-HT830V`` two, ``4K`` one); a
   possessive ``'s`` is dropped.
2. Numbers (all digits) are not nouns; letter-digit mixes (``4K``, ``2pcs``, ``921ORB``) are.
3. Closed-class words (articles, prepositions, conjunctions, pronouns, auxiliaries) are not nouns. A capitalised
   token is only excluded by the short core list (``The``, ``And``, ``For``, ``With``...), the way spaCy still
   tags ``Off`` or ``Top`` in a title as PROPN.
4. Past-participle forms (``Listed``, ``Upgraded``: ``-ed``, five letters or more, not ``-eed``/``-bed``) are not
   nouns; a lowercase word that is a common adjective, adverb or verb (from a small lexicon) is not a noun.
5. Everything else is a noun.

This reproduces the expected title scores of every case in the original ``test_get_type_reward`` and
``test_get_reward`` (see tests/webshop/test_reward.py). It is not spaCy, and says so: against spaCy 3.8 with
en_core_web_sm 3.8 on the generated catalog's 1,000 titles it gives the same noun set for 75 % of them, and
the same title score for 85 % of 19,733 goal/product pairs (mean difference 0.014). Most disagreements are
capitalised ``-ed`` words, which that model tags PROPN or VERB with no visible rule ("Washed", "Certified":
PROPN; "Listed", "Pressed", "Plated": VERB). On free text or lowercase titles it can disagree more. In exchange
it is exact on the original's tests, takes microseconds, and never varies between machines or versions.
"""

from __future__ import annotations

import re
from functools import lru_cache

_POSSESSIVE = re.compile(r"['\u2019]s\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9]+")

#: closed-class words excluded even when capitalised (title case capitalises them without making them names)
CORE_FUNCTION_WORDS = frozenset(
    "a an the and or nor but for with without of to in on at by from into onto as via per vs than & "
    "is are be it its".split()
)

#: closed-class and common non-noun words, excluded when written in lowercase
FUNCTION_WORDS = CORE_FUNCTION_WORDS | frozenset(
    """
    about above across after against along among around before behind below beneath beside besides between beyond
    down during except inside like near off out outside over since through throughout till toward towards under
    underneath until up upon within
    if so yet because while whereas although though unless whether
    i me my mine you your yours he him his she her hers we us our ours they them their theirs this that these those
    what which who whom whose there here
    am was were been being do does did done has have had having can could may might must shall should will would
    not no nor only also just very too quite really more most less least much many few each every any some all both
    either neither other another such own same
    """.split()
)

#: lowercase words that are adjectives, adverbs or verbs in product text (a lowercase title has no capitals to go by)
LOWERCASE_NON_NOUNS = frozenset(
    """
    new old big small large little long short tall high low wide narrow thick thin light heavy soft hard smooth
    strong weak warm cool cold hot dry wet fresh clean easy simple quick fast slow safe free natural organic pure
    real original perfect great good best better nice beautiful cute pretty elegant classic modern vintage casual
    formal comfortable durable portable adjustable washable reusable breathable waterproof lightweight compact
    premium professional extra super ultra full half double single multiple mini deluxe
    black white red blue green yellow pink purple orange brown gray grey silver golden clear dark bright
    open close closed get make use keep hold fit fits lasting looking made designed
    """.split()
)


def _is_noun(token: str) -> bool:
    lower = token.lower()
    if token.isdigit():
        return False
    if len(token) == 1:
        return token.isupper()  # "D.O.N." -> D, O, N (names); "x" in "8 x 10", a stray "s" are not
    if token[0].isupper():
        if lower in CORE_FUNCTION_WORDS:
            return False
    elif lower in FUNCTION_WORDS or lower in LOWERCASE_NON_NOUNS:
        return False
    if lower.isalpha() and len(lower) >= 5 and lower.endswith("ed") and not lower.endswith(("eed", "bed")):
        return False  # a participle: "Listed", "Upgraded", "scented"
    return True


@lru_cache(maxsize=1 << 16)
def title_nouns(title: str) -> tuple[str, ...]:
    """The lowercased noun tokens of ``title``, in order, repeats kept (the original counts the goal's with them)."""
    text = _POSSESSIVE.sub(" ", title)
    return tuple(token.lower() for token in _TOKEN.findall(text) if _is_noun(token))
