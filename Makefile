# edi: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

#: modules compiled to C with mypyc for speed (the parsers, the PHI split, the record rows);
#: the .py files stay the source
COMPILED := edi/errors.py edi/parsers/segments.py edi/parsers/envelope.py edi/parsers/reader.py \
	edi/parsers/maps.py edi/parsers/structure.py edi/parsers/checks.py edi/parsers/results.py \
	edi/parsers/validate.py edi/parsers/fields.py edi/parsers/normalize.py \
	edi/records/export.py edi/records/phi.py edi/store/rows.py
#: the tests run a second time on the compiled modules
COMPILED_TESTS := tests/test_reader.py tests/test_structure.py tests/test_corpus.py \
	tests/test_validate.py tests/test_validate_cli.py tests/test_acks.py tests/test_generate.py \
	tests/test_samples.py tests/test_checks.py tests/test_compiled.py tests/test_fields.py \
	tests/test_x834.py tests/test_x835.py tests/test_x837.py tests/test_x837_institutional_dental.py \
	tests/test_x837i_4010.py tests/test_parse_cli.py tests/test_store_ingest.py tests/test_store_phi.py \
	tests/test_record_worker.py tests/test_rows.py

.PHONY: bench-query setup demo test bench bench-transport lint clean compile clean-compiled

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/edi demo

test: setup clean-compiled
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory compile
	EDI_COMPILED=1 $(BIN)/python -m pytest -q $(COMPILED_TESTS) $(PYTEST_ARGS); \
	  status=$$?; $(MAKE) --no-print-directory clean-compiled; exit $$status

compile: setup
	$(BIN)/python tools/build_native.py $(COMPILED) > build-mypyc.log 2>&1 || { tail -30 build-mypyc.log; exit 1; }

clean-compiled:
	rm -rf build build-mypyc.log *__mypyc*.so .mypy_cache/mypyc
	find edi -name '*.so' -delete

bench: setup compile
	$(BIN)/python bench/run.py $(BENCH_ARGS); status=$$?; $(MAKE) --no-print-directory clean-compiled; exit $$status

#: SFTP pull speed beside OpenSSH's sftp client (root: it starts a throwaway sshd)
bench-transport: setup
	$(BIN)/python bench/transport.py $(BENCH_ARGS)

#: analyst listings and searches on a generated store of 1,000,000 claims (built once,
#: about 15 minutes and 7 GB, under bench/data/; BENCH_ARGS="--claims 20000" for a quick one)
bench-query: setup
	$(BIN)/python bench/query.py $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check edi tests bench
	$(BIN)/ruff format --check edi tests bench
	$(BIN)/mypy

clean: clean-compiled
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
