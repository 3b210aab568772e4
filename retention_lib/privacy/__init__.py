"""Privacy: pseudonymous ids, personal data scrubbed from review texts, profiles checked before export.

- :mod:`.pseudonyms`: customer ids replaced by a keyed hash (HMAC-SHA256); the key comes from the
  environment or a file outside the repository, never from the code or the artifacts;
- :mod:`.scrub`: personal data found and redacted in review texts with Microsoft Presidio and a spaCy
  English model, run offline, plus recognisers for what a shop's reviews contain and Presidio does not
  know (the shop's order numbers, street addresses);
- :mod:`.kanon`: k-anonymity of a table over its quasi-identifiers, with ages generalised into bands
  until every combination is shared by at least k rows, and a report of what was generalised or
  suppressed;
- :mod:`.linkage`: whether an export can be undone: a generalised column rebuilt from the others
  (exact identities, and a fitted model's error against the band's), and a linkage attack by someone
  who knows a few facts about a customer;
- :mod:`.export`: the whole recipe for a profile table that leaves the shop (top codes, k-anonymity,
  bands shared by columns on the same clock), and the audit it must pass;
- :mod:`.evaluate`: real reviews with planted personal data of known kind and place (made with Faker,
  seeded), and the scrubber's recall and precision per kind with intervals.

None of this is legal advice; see chapter 11 for what it does and does not cover.
"""

from .audit import guessable_share, plain_hash, raw_ids_in
from .export import Export, ExportAudit, audit_export, audit_table, export_profiles
from .kanon import KAnonymised, band_bounds, band_midpoints, bands, k_anonymise, k_of, top_code
from .linkage import Identity, export_intervals, find_identities, linkage_attack, rebuild_audit
from .pseudonyms import KEY_ENV, PseudonymKeyError, default_key_file, keygen, load_key, pseudonymise
from .scrub import ENTITIES, Scrubber

__all__ = [
    "KEY_ENV",
    "PseudonymKeyError",
    "default_key_file",
    "keygen",
    "load_key",
    "pseudonymise",
    "Scrubber",
    "ENTITIES",
    "k_anonymise",
    "k_of",
    "bands",
    "band_bounds",
    "band_midpoints",
    "KAnonymised",
    "Identity",
    "find_identities",
    "rebuild_audit",
    "export_intervals",
    "linkage_attack",
    "Export",
    "ExportAudit",
    "export_profiles",
    "audit_export",
    "audit_table",
    "top_code",
    "raw_ids_in",
    "plain_hash",
    "guessable_share",
]
