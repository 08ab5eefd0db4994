"""`partners`: one command, subcommands; each parses, builds objects, calls one library function, prints."""

import argparse
import json
import os
import sys
from pathlib import Path

from rag import __version__
from rag.errors import PartnersError

EXAMPLES = """examples:
  partners ingest                       # (re-)ingest the shipped corpus; only changed files are embedded
  partners search "해약하면 돈 얼마 돌려받아요?" --k 3
"""

QUIET_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "RAGAS_DO_NOT_TRACK": "true",
    "TOKENIZERS_PARALLELISM": "false",
}


def configure_environment() -> None:
    """Offline and telemetry-free, whatever the caller's shell says (a user may still override)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="partners", description="PartnersAI RAG: Korean cited answers and practice missions for insurance partners.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"partners {__version__}")
    parser.add_argument("--data-dir", type=Path, help="state folder (default PARTNERS_DATA_DIR or ./.partners)")
    parser.add_argument("--collection", help="collection name (default PARTNERS_COLLECTION or 'partners')")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="load, chunk, embed and store documents (incremental)")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the shipped corpus/)")
    p.add_argument("--rebuild", action="store_true", help="start from an empty index")
    p.add_argument("--embedder", help="use-multilingual | sentence-transformers:<id or path>")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")

    p = sub.add_parser("search", help="retrieve passages for a query")
    p.add_argument("query", nargs="?", help="the question (or use --file)")
    p.add_argument("--file", type=Path, help="one query per line; prints one JSON line per query")
    p.add_argument("--k", type=int, default=None, help="results per query (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid")
    p.add_argument("--type", dest="doc_types", action="append", choices=["term", "script", "guideline", "other"],
                   help="only this document type (repeatable)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="serve the Gradio app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)

    p = sub.add_parser("bench", help="benchmarks; results go to eval/results/")
    p.add_argument("what", choices=["ingest"], help="ingest: cold, unchanged and one-file re-ingest timings")
    p.add_argument("--out", type=Path, default=Path("eval/results"))
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_environment()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except PartnersError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except _validation_error() as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"error: {where}: {err['msg']}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `partners search ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0


def _validation_error():
    from pydantic import ValidationError

    return ValidationError


def _settings(args, **overrides):
    from rag.settings import load_settings

    return load_settings(data_dir=args.data_dir, collection=args.collection, **overrides)


def cmd_ingest(args) -> int:
    from ingest.pipeline import default_progress, run_ingest

    settings = _settings(args, embedder=args.embedder)
    paths = args.paths or [settings.corpus_dir]
    report = run_ingest(paths, settings, rebuild=args.rebuild, progress=default_progress())
    if args.json:
        print(report.model_dump_json())
    print(report.summary(), file=sys.stderr)
    for failure in report.failed:
        print(f"  failed: {failure.error}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_search(args) -> int:
    from rag.embed import get_embedder
    from rag.index import Index
    from rag.retrieve import Retriever

    settings = _settings(args)
    if not args.query and not args.file:
        raise PartnersError("Give a query, or --file QUERIES.txt with one query per line.")
    retriever = Retriever(Index(settings), get_embedder(settings.embedder))
    k = args.k or settings.top_k
    queries = [args.query] if args.query else [
        line.strip() for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    for query in queries:
        result = retriever.search(query, k=k, mode=args.mode, doc_types=args.doc_types)
        if args.json or args.file:
            print(json.dumps(result.to_json(), ensure_ascii=False))
            continue
        print(f"{query}  ({result.timings_ms['total']:.1f} ms, {result.mode})")
        for hit in result.hits:
            snippet = " ".join(hit.chunk.text.split())[:120]
            print(f"  [{hit.rank}] {hit.chunk.title}  ({hit.chunk.source})  score={hit.score:.3f}\n      {snippet}")
    return 0


def cmd_serve(args) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port)
    return 0


def cmd_bench(args) -> int:
    from eval.bench import bench_ingest

    result, path = bench_ingest(_settings(args), out_dir=args.out)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"wrote {path}", file=sys.stderr)
    return 0


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search, "serve": cmd_serve, "bench": cmd_bench}

if __name__ == "__main__":
    sys.exit(main())
