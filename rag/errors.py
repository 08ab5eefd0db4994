"""One exception family: each error says what happened and what to run next."""

from pathlib import Path


class PartnersError(Exception):
    """Base of every error the library raises on purpose; the CLI prints its message without a traceback."""

    code = "error"


class ConfigError(PartnersError):
    code = "config"


class UnknownBackendError(ConfigError):
    def __init__(self, kind: str, value: str, valid: list[str]) -> None:
        super().__init__(f"Unknown {kind} {value!r}. Valid forms: {', '.join(valid)}.")


class MissingExtraError(ConfigError):
    def __init__(self, what: str, pip_name: str) -> None:
        super().__init__(f"{what} needs the package {pip_name!r}. Install it with `pip install {pip_name}`.")


class IndexNotFoundError(PartnersError):
    code = "no_index"

    def __init__(self, where: str) -> None:
        super().__init__(f"No index in {where}. Run `partners ingest` first.")


class EmbedderMismatchError(PartnersError):
    code = "embedder_mismatch"

    def __init__(self, built_with: str, built_dim: int, configured: str, dim: int | None = None) -> None:
        got = f"{configured} (dim {dim})" if dim else configured
        super().__init__(
            f"The index was built with embedder {built_with} (dim {built_dim}) but {got} is configured. "
            f"Run `partners ingest --rebuild` to rebuild it, or set PARTNERS_EMBEDDER={built_with}."
        )


class IngestLockedError(PartnersError):
    code = "ingest_locked"

    def __init__(self, lock_path: Path) -> None:
        super().__init__(
            f"Another ingest is running (lock {lock_path}). Wait for it to finish, then run `partners ingest` again."
        )


class DocumentError(PartnersError):
    """A single input file cannot be ingested; the rest of the run goes on."""

    code = "bad_document"


class StoreUnavailableError(PartnersError):
    code = "store_unavailable"

    def __init__(self, where: str, cause: str) -> None:
        super().__init__(
            f"Cannot reach the Chroma server at {where}: {cause}. Start it with `chroma run --host 127.0.0.1 "
            f"--port <port> --path <dir>` or unset PARTNERS_CHROMA_HOST to use the local index."
        )


class InputValidationError(PartnersError):
    """User input outside its limits (question, explanation, script); `field` and limits help the UI."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str = "", limit: tuple[int, int] | None = None,
                 length: int | None = None, reason: str = "length") -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit
        self.length = length  # characters given, for a length error
        self.reason = reason  # "length", "no_partner_lines", "unknown_scenario"
