"""The procedures service's application: load, call, save; lists from the catalog's search table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from motcua.kernel.access import ADMINISTRATOR, require_grant
from motcua.kernel.agencies import AgencyTree
from motcua.kernel.agency_ids import is_agency_id
from motcua.kernel.config import Settings
from motcua.kernel.context import current_actor
from motcua.kernel.errors import NotFound, VersionConflict
from motcua.kernel.paging import PageQuery
from motcua.kernel.readmodel import ReadModelApplication

from .content import ProcedureContent
from .domain import DuplicateProcedureCode, Procedure, ProcedureCode
from .search import CatalogRecorder, Filters
from .views import Page, ProcedureView

DEFAULT_PAGE_SIZE = 50


class ProceduresApplication(ReadModelApplication):
    name = "procedures"
    snapshotting_intervals = {Procedure: 50}
    recorder_class = CatalogRecorder
    recorder: CatalogRecorder

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        # Identity's agency tree, kept by the agency-tree consumer: an administrator's grant
        # reaches the procedures and calendars of the agencies below it.
        self.agency_tree = AgencyTree(self)

    def prepare(self) -> None:
        """Derives the search table from the log when it is missing (e.g. dropped, or new)."""
        self.recorder.rebuild_if_missing()

    def within(self, agency_id: str, ancestor_id: str) -> bool:
        """Whether an agency is ``ancestor_id`` or below it, in the replica of the tree."""
        return self.agency_tree.is_within(agency_id, ancestor_id)

    def require_administrator(self, action: str, *agencies: str) -> None:
        """PERMISSION_DENIED (AGENCY_SCOPE) unless the caller administers every one of ``agencies``
        (each through a grant at it or above it)."""
        actor = current_actor()
        for agency in dict.fromkeys(agencies):
            require_grant(actor, action, (ADMINISTRATOR,), agency, within=self.within)

    def _editable(self, procedure_id: UUID, expected_version: int, action: str) -> Procedure:
        """The procedure, once the caller may edit it; only then checked against the version the
        caller last saw (a stranger learns nothing from a version conflict)."""
        procedure = self.load(Procedure, procedure_id)
        self._require_editor(procedure, action)
        if expected_version and procedure.version != expected_version:
            raise VersionConflict(str(procedure_id), expected_version, procedure.version)
        return procedure

    def _require_editor(self, procedure: Procedure, action: str) -> None:
        """The caller administers the procedure's implementing agency: that of its latest version
        and, when another version is in force, that one's too (both are changed or superseded)."""
        agencies = [procedure.latest["content"]["agency_id"]]
        in_force = procedure.in_force()
        if in_force is not None:
            agencies.append(in_force["content"]["agency_id"])
        self.require_administrator(action, *agencies)

    # --- commands ---------------------------------------------------------------------------

    def create_procedure(self, code: str, content: ProcedureContent) -> ProcedureView:
        if is_agency_id(content.agency_id):  # a malformed agency is the content's error, below
            self.require_administrator("create the procedure", content.agency_id)
        procedure = Procedure.draft(code, content)
        index = ProcedureCode(code=code, procedure_id=procedure.id)
        try:
            self.save(procedure, index)
        except VersionConflict:
            raise DuplicateProcedureCode("procedure", code) from None
        return ProcedureView.of(procedure)

    def rename_procedure(self, procedure_id: UUID, name: str, expected_version: int) -> ProcedureView:
        procedure = self._editable(procedure_id, expected_version, "rename the procedure")
        procedure.rename(name)
        self.save(procedure)
        return ProcedureView.of(procedure)

    def revise_procedure(self, procedure_id: UUID, revision: Callable[[ProcedureView], ProcedureContent],
                         expected_version: int) -> ProcedureView:
        """Updates the procedure to the content ``revision`` makes of it as it is (a partial
        update's merge). The revision runs only once the caller may edit the procedure: a
        caller who may not learns nothing of it, nor what is wrong with their request."""
        procedure = self._editable(procedure_id, expected_version, "update the procedure")
        content = revision(ProcedureView.of(procedure))
        # Moving a procedure to another agency needs that agency's administrator too.
        if is_agency_id(content.agency_id):
            self.require_administrator("update the procedure", content.agency_id)
        if procedure.revise(content):
            self.save(procedure)
        return ProcedureView.of(procedure)

    def draft_procedure_version(self, procedure_id: UUID, expected_version: int = 0) -> ProcedureView:
        procedure = self._editable(procedure_id, expected_version, "draft the procedure's next version")
        procedure.draft_next_version()
        self.save(procedure)
        return ProcedureView.of(procedure)

    def publish_procedure(self, procedure_id: UUID, expected_version: int = 0) -> ProcedureView:
        procedure = self._editable(procedure_id, expected_version, "publish the procedure")
        procedure.publish()
        self.save(procedure)
        return ProcedureView.of(procedure)

    def withdraw_procedure(self, procedure_id: UUID, expected_version: int = 0) -> ProcedureView:
        procedure = self._editable(procedure_id, expected_version, "withdraw the procedure")
        in_force = procedure.in_force()
        procedure.withdraw()  # refuses when nothing is in force
        self.save(procedure)
        return ProcedureView.of(procedure, in_force)

    # --- queries ------------------------------------------------------------------------------

    def get_procedure(self, procedure_id: UUID, version_number: int = 0) -> ProcedureView:
        procedure = self.load(Procedure, procedure_id)
        if not version_number:
            return ProcedureView.of(procedure)
        version = procedure.version_numbered(version_number)
        if version is None:
            raise NotFound("procedure version", f"{procedure_id} version {version_number}")
        return ProcedureView.of(procedure, version)

    def procedure_in_force(self, code: str, moment: datetime) -> ProcedureView:
        """The version of the procedure with this code in force at ``moment`` (aware)."""
        try:
            index: ProcedureCode = self.repository.get(ProcedureCode.create_id(code))
        except AggregateNotFoundError:
            raise NotFound("procedure", code) from None
        procedure = self.load(Procedure, index.procedure_id)
        version = procedure.in_force_at(moment)
        if version is None:
            raise NotFound("procedure version in force", f"{code} at {moment.isoformat()}")
        return ProcedureView.of(procedure, version)

    def list_procedures(self, filters: Filters, page_size: int = 0, page_token: str = "") -> Page:
        limit = page_size or DEFAULT_PAGE_SIZE
        query = PageQuery("procedures", asdict(filters))
        after = query.position(page_token, str, int)
        rows = self.recorder.page(filters, after, limit + 1)
        views = [ProcedureView.from_row(row) for row in rows[:limit]]
        token = query.token([views[-1].code, views[-1].version_number]) if len(rows) > limit else ""
        return Page(views, token)
