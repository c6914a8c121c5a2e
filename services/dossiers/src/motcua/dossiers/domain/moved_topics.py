"""Where the dossiers service's stored events were written from before the service was laid
out in layers: their old topics resolve to the classes' current homes (``kernel.topics``).

Every old topic stays here for as long as a log may hold it, i.e. for good. Imported by
``motcua.dossiers.domain``, so anything that reads the service's events (the service, the
audit tool) has declared them before it decodes one.
"""

from __future__ import annotations

from motcua.dossiers.domain import calendar_replica
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier import aggregate, attachments, closing, processing
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.kernel.topics import moved_class, moved_module

# Modules that moved whole: every class in them, nested events included.
moved_module("motcua.dossiers.dossier", aggregate)
moved_module("motcua.dossiers.processing", processing)
moved_module("motcua.dossiers.closing", closing)
moved_module("motcua.dossiers.attachment_rules", attachments)
moved_module("motcua.dossiers.calendar_domain", calendar_replica)

# ``motcua.dossiers.domain`` is now this package. It held the replica and the code sequence
# until now, and the dossier aggregate, with its rule mixins' events, earlier still
# (``motcua.dossiers.domain:Dossier.SupplementRequested`` is
# ``ProcessingRules.SupplementRequested``).
moved_class("motcua.dossiers.domain:Dossier", aggregate.Dossier)
moved_class("motcua.dossiers.domain:ProcedureReplica", ProcedureReplica)
moved_class("motcua.dossiers.domain:DossierCodeSequence", DossierCodeSequence)
