"""Privacy: pseudonymous ids, personal data scrubbed from review texts, profiles checked before export.

- :mod:`.pseudonyms`: customer ids replaced by a keyed hash (HMAC-SHA256); the key comes from the
  environment or a file outside the repository, never from the code or the artifacts;
- :mod:`.scrub`: personal data found and redacted in review texts with Microsoft Presidio and a spaCy
  English model, run offline, plus recognisers for what a shop's reviews contain and Presidio does not
  know (the shop's order numbers, street addresses);
- :mod:`.kanon`: k-anonymity of a table over its quasi-identifiers, with ages generalised into bands
  until every combination is shared by at least k rows, and a report of what was generalised or
  suppressed;
- :mod:`.evaluate`: real reviews with planted personal data of known kind and place (made with Faker,
  seeded), and the scrubber's recall and precision per kind with intervals.

None of this is legal advice; see chapter 11 for what it does and does not cover.
"""

from .kanon import band_midpoints, bands, k_anonymise, k_of, top_code
from .pseudonyms import KEY_ENV, PseudonymKeyError, default_key_file, keygen, load_key, pseudonymise
from .audit import guessable_share, plain_hash, raw_ids_in
from .scrub import ENTITIES, Scrubber

__all__ = ["KEY_ENV", "PseudonymKeyError", "default_key_file", "keygen", "load_key", "pseudonymise", "Scrubber", "ENTITIES", "k_anonymise", "k_of", "bands",
           "band_midpoints", "top_code", "raw_ids_in", "plain_hash", "guessable_share"]
