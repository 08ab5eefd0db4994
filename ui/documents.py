"""The 문서 관리 tab: list, upload, delete and re-ingest documents, behind the admin guard."""

import hmac
import logging
import shutil
from datetime import datetime
from pathlib import Path

from ingest.load import SUPPORTED, SourceFile, load_file
from rag.errors import DocumentError, PartnersError
from ui import messages as M
from ui.render import korean_error

log = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class AdminError(PartnersError):
    code = "admin"

    def __init__(self, korean: str) -> None:
        super().__init__("Document actions need the admin password (PARTNERS_ADMIN_PASSWORD) or a loopback server.")
        self.korean = korean


class AdminGuard:
    """With a password set, document actions need it; without one, they work only while the server is on loopback."""

    def __init__(self, password: str | None, host: str) -> None:
        self.password = password or None
        self.host = host

    @property
    def needs_password(self) -> bool:
        return self.password is not None

    def status(self) -> str:
        if self.password:
            return M.GUARD_PASSWORD
        if self.host in LOOPBACK:
            return M.GUARD_LOOPBACK.format(host=self.host)
        return M.GUARD_LOCKED.format(host=self.host)

    def check(self, given: str | None) -> None:
        if self.password:
            if not hmac.compare_digest((given or "").encode(), self.password.encode()):
                raise AdminError(M.WRONG_PASSWORD)
        elif self.host not in LOOPBACK:
            raise AdminError(M.GUARD_LOCKED.format(host=self.host))


def report_markdown(report) -> str:
    lines = [M.REPORT.format(added=report.added, updated=report.updated, unchanged=report.unchanged,
                             deleted=report.deleted, failed=len(report.failed), embedded=report.chunks_embedded,
                             total=report.chunks_total, seconds=report.seconds)]
    lines += [M.FAILED_ITEM.format(error=f.error) for f in report.failed]
    return "\n".join(lines)


class DocumentsHandler:
    def __init__(self, services, guard: AdminGuard) -> None:
        self.services = services
        self.guard = guard
        self.settings = services.settings

    def rows(self) -> list[list]:
        docs = self.services.retriever.index.docstore.list_docs()
        return [[d["title"], M.DOC_TYPES.get(d["doc_type"], d["doc_type"]), d["category"], d["version"], d["updated"],
                 d["chunk_count"], d["source"]] for d in docs]

    def files(self) -> list[str]:
        """Sources of the indexed files (a CSV/JSON file may hold many documents), for the delete picker."""
        return sorted({d["source"].split("#")[0] for d in self.services.retriever.index.docstore.list_docs()})

    def _path_of(self, source: str) -> Path | None:
        for d in self.services.retriever.index.docstore.list_docs():
            if d["source"].split("#")[0] == source:
                return Path(d["path"])
        return None

    def upload(self, files: list | None, password: str | None) -> str:
        """Validate and store uploaded files in the uploads folder; a replaced file goes to the trash first."""
        try:
            self.guard.check(password)
        except PartnersError as exc:
            return korean_error(exc)
        if not files:
            return M.UPLOAD_NONE
        saved, lines = [], []
        for item in files:
            path = Path(getattr(item, "name", item))
            name = Path(getattr(item, "orig_name", None) or path.name).name
            problem = self._problem(path, name)
            if problem:
                lines.append(M.UPLOAD_REJECTED.format(name=name, reason=problem))
                continue
            dest = self.settings.uploads_dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                self._to_trash(dest)
            shutil.copyfile(path, dest)
            saved.append(name)
        if saved:
            lines.insert(0, M.UPLOADED.format(names=", ".join(saved)))
        return "\n\n".join(lines)

    def _problem(self, path: Path, name: str) -> str | None:
        """Korean reason a file cannot be used, checked with the same loader ingest uses (nothing is stored)."""
        if name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED:
            return M.UPLOAD_BAD_TYPE
        size = path.stat().st_size
        if size > self.settings.max_file_bytes:
            return M.UPLOAD_TOO_BIG.format(size=size / 1024 / 1024, limit=self.settings.max_file_mb)
        data = path.read_bytes()
        if not data.strip():
            return M.UPLOAD_EMPTY
        try:
            load_file(SourceFile(path.with_name(name), f"uploads/{name}"), data, max_bytes=self.settings.max_file_bytes)
        except DocumentError as exc:
            log.info("upload refused: %s", exc)
            return M.UPLOAD_UNREADABLE
        return None

    def _to_trash(self, path: Path) -> Path:
        folder = self.settings.trash_dir / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        folder.mkdir(parents=True, exist_ok=True)
        return Path(shutil.move(str(path), folder / path.name))

    def delete(self, source: str | None, password: str | None, progress=None) -> str:
        """Move the file to the trash and re-ingest, so its chunks leave every index."""
        try:
            self.guard.check(password)
        except PartnersError as exc:
            return korean_error(exc)
        path = self._path_of(source) if source else None
        if path is None:
            return M.DELETE_NONE
        extra = []
        if path.exists():
            trashed = self._to_trash(path)
            extra = [] if any(_under(path, r) for r in self.settings.ingest_roots()) else [path.parent]
            message = M.DELETED.format(name=source, trash=trashed.parent.name)
        else:
            message = M.DELETED.format(name=source, trash="-")
        return message + "\n\n" + self.reingest(password, progress=progress, extra_roots=extra)

    def reingest(self, password: str | None, progress=None, extra_roots: list[Path] | None = None) -> str:
        from ingest.pipeline import run_ingest

        try:
            self.guard.check(password)
            roots = self.settings.ingest_roots() + [r for r in extra_roots or [] if r.is_dir()]

            def update(done: int, total: int, stage: str) -> None:
                if progress is not None:
                    progress((done, max(total, 1)), desc=f"{M.INGEST_PROGRESS} ({stage})")

            report = run_ingest(roots, self.settings, embedder=self.services.retriever.embedder, progress=update)
            self.services.refresh()
        except Exception as exc:
            if not isinstance(exc, PartnersError):
                log.exception("re-ingest failed")
            return korean_error(exc)
        return report_markdown(report)


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False
