"""Versioned prompt files (`rag/prompts/*.yaml`, Jinja2 templates); every answer records `name@version`."""

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel

from rag.errors import ConfigError

PROMPT_DIR = Path(__file__).parent / "prompts"


class Prompt(BaseModel):
    name: str
    version: str
    system: str
    user: str

    @property
    def ref(self) -> str:
        """`answer@1.0`: what answers and cache keys record."""
        return f"{self.name}@{self.version}"

    def render(self, **values: object) -> list[dict[str, str]]:
        """Chat messages (system, user) with the templates filled in; undefined variables are errors."""
        from jinja2 import Environment, StrictUndefined

        env = Environment(undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False)
        return [{"role": "system", "content": env.from_string(self.system).render(**values).strip()},
                {"role": "user", "content": env.from_string(self.user).render(**values).strip()}]


@lru_cache(maxsize=None)
def load_prompt(name: str) -> Prompt:
    """The prompt `rag/prompts/<name>.yaml`."""
    path = PROMPT_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PROMPT_DIR.glob("*.yaml")))
        raise ConfigError(f"No prompt {name!r} in {PROMPT_DIR}. Known prompts: {known}.")
    return Prompt.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
