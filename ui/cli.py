"""`partners`: one command, subcommands; each parses, builds objects, calls one library function, prints."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rag import __version__
from rag.errors import PartnersError

EXAMPLES = """examples:
  partners ingest                       # (re-)ingest the shipped corpus; only changed files are embedded
  partners ask "해약하면 돈 얼마 돌려받아요?"   # a cited answer (or a polite refusal)
  partners term 해지환급금 --explanation "중간에 해지하면 돌려받는 돈인데 낸 보험료보다 적을 수 있어요"
  partners eval --mode all              # hit@k / MRR / nDCG for dense, BM25 and hybrid side by side
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
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the shipped corpus/ and files uploaded in the app)")
    p.add_argument("--rebuild", action="store_true", help="start from an empty index")
    p.add_argument("--embedder", help="use-multilingual | sentence-transformers:<id or path>")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")

    p = sub.add_parser("search", help="retrieve passages for a query")
    p.add_argument("query", nargs="?", help="the question (or use --file)")
    p.add_argument("--file", type=Path, help="one query per line; prints one JSON line per query")
    p.add_argument("--k", type=int, default=None, help="results per query (default 5)")
    p.add_argument("--mode", choices=["dense", "bm25", "chars", "hybrid"], default="hybrid")
    p.add_argument("--type", dest="doc_types", action="append", choices=["term", "script", "guideline", "other"],
                   help="only this document type (repeatable)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ask", help="a cited answer from the documents (or a refusal when they do not cover it)")
    p.add_argument("question")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("term", help="term mission: score your explanation of a term")
    p.add_argument("term", help="the term (title or alias), e.g. 해지환급금")
    p.add_argument("--explanation", required=True, help="your explanation, 10-500 characters (or @FILE)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("conversation", help="conversation mission: review a sales script")
    p.add_argument("--file", type=Path, required=True, help="the script, 50-3,000 characters ('설계사:'/'고객:' lines)")
    p.add_argument("--scenario", help="a model script's scenario name, or a product such as 암 or 종신")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("cache", help="LLM cache: HIT/MISS counts or clear")
    p.add_argument("action", choices=["stats", "clear"])

    p = sub.add_parser("eval", help="retrieval metrics (or `eval missions`, `eval claims`, `eval answers`, "
                                    "`eval doubt`); appends to the eval history")
    p.add_argument("what", nargs="?", choices=["retrieval", "missions", "claims", "answers", "doubt"],
                   default="retrieval")
    p.add_argument("--dataset", default="terms",
                   help="a name in eval/datasets (terms, scripts_guidelines, ...) or autorag-ko (brings its corpus)")
    p.add_argument("--questions", type=Path, help="a JSONL question file instead of --dataset")
    p.add_argument("--corpus", type=Path, help="evaluate on this folder, ingested into its own collection (reused)")
    p.add_argument("--chunking", action="append", default=[], metavar="size=N,overlap=M",
                   help="compare chunkings in throwaway indexes (repeatable), e.g. --chunking size=300,overlap=50")
    p.add_argument("--fusion", help="hybrid weights for this run, e.g. dense=0.5,bm25=1,chars=1,title=0.5,rrf_k=10")
    p.add_argument("--mode", choices=["dense", "bm25", "chars", "hybrid", "all"], default="hybrid")
    p.add_argument("--k", default="1,3,5,10", help="cut-offs, e.g. 1,3,5,10")
    p.add_argument("--ragas", action="store_true",
                   help="add ragas context precision/recall; faithfulness and answer relevancy with PARTNERS_LLM=openai:*")
    p.add_argument("--report", type=Path, metavar="FILE.md", help="write a Markdown report and FILE_history.png")
    p.add_argument("--rewrites", metavar="NAME|FILE.jsonl",
                   help="rewrite chat turns with these reference rewrites (eval/datasets/rewrites) instead of the LLM")
    p.add_argument("--write", action="store_true",
                   help="with `eval doubt`: save the false-claim model trained on all the data")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("serve", help="serve the Gradio app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)

    p = sub.add_parser("bench", help="benchmarks; results go to eval/results/")
    p.add_argument("what", choices=["ingest", "query"],
                   help="ingest: cold, unchanged and one-file re-ingest timings; query: retrieval and ask latency "
                        "with peak RSS at growing index sizes (JSON + PNG)")
    p.add_argument("--sizes", default="1000,10000,100000", help="query: index sizes in chunks")
    p.add_argument("--queries", type=int, default=200, help="query: terms.jsonl questions per mode")
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
    paths = args.paths or settings.ingest_roots()
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
        read = f"  → {result.query}" if result.query != query else ""  # a name said one letter wrong, respelled
        print(f"{query}{read}  ({result.timings_ms['total']:.1f} ms, {result.mode})")
        for hit in result.hits:
            snippet = " ".join(hit.chunk.text.split())[:120]
            print(f"  [{hit.rank}] {hit.chunk.title}  ({hit.chunk.source})  score={hit.score:.3f}\n      {snippet}")
    return 0


def _services(args, **overrides):
    from rag.service import Services

    return Services(_settings(args, **overrides))


def cmd_ask(args) -> int:
    from rag.answer import validate_question

    validate_question(args.question)  # a bad question fails before any model loads
    services = _services(args)
    started = time.perf_counter()
    services.warm_up(missions=False)  # so timings_ms measure the question, not loading the models
    loaded_ms = (time.perf_counter() - started) * 1000
    answer = services.ask(args.question)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    if answer.respelled:
        from ui import messages as M

        print(f"({M.RESPELLED}: " + ", ".join(f"{a} → {b}" for a, b in answer.respelled.items()) + ")", file=sys.stderr)
    print(answer.answer)
    if answer.notice:
        print(f"({answer.notice})", file=sys.stderr)
    for c in answer.citations:
        print(f"  [{c.n}] {c.title} ({c.source}{', v' + c.version if c.version else ''}) \"{c.quote[:80]}\"")
    if not answer.grounded and answer.suggestions:
        print("  관련 용어: " + ", ".join(answer.suggestions))
    t = answer.timings_ms
    print(f"retrieve {t['retrieve']:.0f} ms, generate {t['generate']:.0f} ms, total {t['total']:.0f} ms "
          f"({answer.generator}, {answer.prompt_version}; models and indexes loaded in {loaded_ms:.0f} ms)",
          file=sys.stderr)
    return 0


def cmd_term(args) -> int:
    explanation = args.explanation
    if explanation.startswith("@"):
        explanation = Path(explanation[1:]).read_text(encoding="utf-8")
    mission = _services(args).term_mission
    result = mission.score(args.term, explanation)
    if args.json:
        print(result.model_dump_json())
        return 0
    if not mission.known(args.term):  # said one letter wrong ("헤지환급금"): say which term was scored
        from ui import messages as M

        print(f"({M.RESPELLED}: {args.term} → {result.term})", file=sys.stderr)
    print(f"{result.term}: {result.score}점 ({result.grade})")
    for item in result.rubric:
        print(f"  {item.name} {item.score}/{item.max} - {item.reason}")
    for m in result.misconceptions:
        print(f"  오해{'' if m.by == 'rules' else ' (' + m.by + ')'}: {m.claim} -> {m.correction} [{m.n}]")
    print(result.feedback)
    print(f"모범 답안: {result.model_answer}")
    for c in result.citations:
        print(f"  [{c.n}] {c.title} ({c.source})")
    return 0


def cmd_conversation(args) -> int:
    from rag.errors import DocumentError
    from rag.missions.conversation import infer_product
    from ui import messages as M

    services = _services(args)
    try:
        script = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"Cannot read {args.file} as UTF-8 text ({exc.__class__.__name__}).") from exc
    mission = services.conversation_mission
    scenario = product = None
    if args.scenario:
        if mission.find_scenario(args.scenario):
            scenario = args.scenario
        elif infer_product(args.scenario) or infer_product(args.scenario + "보험"):
            product = args.scenario
        else:
            scenario = args.scenario  # review() lists the known scenarios
    result = mission.review(script, scenario=scenario, product=product)
    if args.json:
        print(result.model_dump_json())
        return 0
    print(f"총점 {result.score}점 ({result.grade}), 상품: {result.product or '-'}")
    for s in result.stages:
        print(f"  {s.stage}: {'해당 없음' if s.score is None else f'{s.score}점'}"
              + (f" (빠진 것: {', '.join(s.missed)})" if s.missed and s.score is not None else ""))
    for f in result.findings:
        where = f" \"{f.evidence.quote[:60]}\"" if f.evidence else ""
        how = (f" {M.BY_CLASSIFIER.format(p=f.confidence)}" if f.detector == "classifier"
               else f" ({M.FOUND_BY_LLM})" if f.detector == "llm" else "")
        print(f"  [{f.n}] {f.rule} {f.message}{where}{how}")
    print(result.feedback)
    for c in result.citations:
        print(f"  [{c.n}] {c.title} ({c.source})")
    return 0


def cmd_cache(args) -> int:
    from rag.llm_cache import open_cache

    settings = _settings(args)
    cache = open_cache(settings.llm_cache, settings.data_dir)
    if args.action == "clear":
        cache.clear()
        print("cleared", file=sys.stderr)
    print(json.dumps(cache.stats(), ensure_ascii=False))
    return 0


def cmd_eval(args) -> int:
    from eval.run import run_eval
    from ingest.pipeline import default_progress

    settings = _settings(args)
    result, lines = run_eval(settings, what=args.what, dataset=args.dataset, questions=args.questions,
                             corpus=args.corpus, chunkings=args.chunking, mode=args.mode, ks=args.k,
                             fusion=args.fusion, progress=default_progress(), ragas=args.ragas, write=args.write,
                             rewrites=args.rewrites)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print("\n".join(lines))
    if args.report:
        from eval.report import write_report

        path = write_report(result, settings.data_dir / "eval" / "history.jsonl", args.report)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port)
    return 0


def cmd_bench(args) -> int:
    from eval.bench import bench_ingest, bench_query, parse_sizes

    if args.what == "query":
        sizes = parse_sizes(args.sizes)
        result, path, png = bench_query(_settings(args), sizes=sizes, out_dir=args.out, queries=args.queries)
        paths = [path, png]
    else:
        result, path = bench_ingest(_settings(args), out_dir=args.out)
        paths = [path]
    print(json.dumps(result, ensure_ascii=False, indent=2))
    for p in paths:
        print(f"wrote {p}", file=sys.stderr)
    return 0


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search, "ask": cmd_ask, "term": cmd_term,
            "conversation": cmd_conversation, "cache": cmd_cache, "eval": cmd_eval, "serve": cmd_serve,
            "bench": cmd_bench}

if __name__ == "__main__":
    sys.exit(main())
