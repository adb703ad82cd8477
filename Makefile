# edi: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

#: what the installed build is made of: a change to any of these rebuilds and reinstalls it
SOURCES := pyproject.toml setup.py MANIFEST.in \
	$(shell find edi maps samples -type f ! -path '*/__pycache__/*' ! -name '*.so' ! -name '*.pyc')
#: the wheel `make setup` builds and installs (compiled with mypyc, as users get it)
DIST   := dist
#: the test folders by layer (each marks its tests with its name: `pytest -m unit`): unit
#: (pure: parsers, records, acknowledgments, codes, configuration), conformance (pure but
#: slow: edi beside pyx12 over the whole shared corpus), store (SQLite and
#: PostgreSQL, keys, audit, ingest, crashes), transport (sshd, embedded SFTP, gpg, pulls),
#: end_to_end (the CLI and demo as run by users, Prefect flows, two workers, the wheel)
#: the layers that run a second time on the pure-Python sources of the checkout
PURE_TESTS := tests/unit tests/conformance tests/store
#: the dependencies and dev tools alone, without building edi: enough for `make test-fast`
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: bench-query setup demo test test-fast bench bench-transport lint clean compile clean-compiled

setup: $(STAMP)

#: the built wheel installed into .venv (not editable) with the dev tools: the demo, the
#: tests and the benchmarks run what `pip install` gives a user
$(STAMP): $(SOURCES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	rm -rf $(DIST) build
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(DIST) . > build-wheel.log 2>&1 \
	  || { tail -30 build-wheel.log; exit 1; }
	$(BIN)/python -m pip install --quiet "$$(ls $(DIST)/edi-*.whl)[dev]"
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps $(DIST)/edi-*.whl
	rm -rf build
	touch $(STAMP)

demo: setup
	$(BIN)/edi demo

#: the whole suite on the installed wheel (compiled), the checkout only providing the tests
#: (--import-mode=append: the checkout after site-packages; PYTHONSAFEPATH: no interpreter
#: puts its working folder first); then the unit, conformance and store layers again on the
#: checkout's pure-Python sources (PURE_TESTS)
test: setup clean-compiled
	EDI_TEST_INSTALLED=1 EDI_COMPILED=1 EDI_WHEEL="$$(ls $(DIST)/edi-*.whl)" PYTHONSAFEPATH=1 \
	  $(BIN)/pytest --import-mode=append $(PYTEST_ARGS)
	PYTHONPATH=$(CURDIR) EDI_COMPILED=0 $(BIN)/pytest -q -p no:cacheprovider $(PURE_TESTS) $(PYTEST_ARGS)

#: the unit tests on the checkout's pure-Python sources, with no build: the quick check
#: while working (under a minute on 2 cores); uses .venv as `make setup` left it, or makes
#: one with the dependencies and dev tools only (no `edi` console script: the test of the
#: installed executable runs in `make test`)
test-fast: $(DEV_STAMP) clean-compiled
	PYTHONPATH=$(CURDIR) EDI_COMPILED=0 $(BIN)/pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/dev-requirements.txt
	$(BIN)/python -m pip install --quiet -r $(VENV)/dev-requirements.txt
	touch $@

#: the same modules compiled in place, for work on the sources (run with PYTHONPATH=.)
compile: setup
	$(BIN)/python tools/build_native.py > build-mypyc.log 2>&1 || { tail -30 build-mypyc.log; exit 1; }

clean-compiled:
	rm -rf build build-mypyc.log *__mypyc*.so .mypy_cache/mypyc
	find edi -name '*.so' -delete

#: speed and memory of the installed wheel beside pyx12; then the installed wheel beside
#: the in-place compiled build; one large file on every core (validate, parse, ingest);
#: the memory of files holding one transaction set (837P of 20, 50 and 200 MB; 835 and 834
#: of 50 MB; SET_MEMORY_ARGS="--sizes 20" for a quick one); then edi beside the peers
#: installed from PyPI (each in its own environment under bench/out/peers/;
#: PEERS_ARGS="--size 50" for the 50 MB files), in one run
bench: setup compile
	$(BIN)/python bench/run.py $(BENCH_ARGS) && $(BIN)/python bench/install.py \
	  && $(BIN)/python bench/parts.py $(PARTS_ARGS) \
	  && $(BIN)/python bench/set_memory.py $(SET_MEMORY_ARGS) \
	  && $(BIN)/python bench/peers.py $(PEERS_ARGS); \
	  status=$$?; $(MAKE) --no-print-directory clean-compiled; exit $$status

#: SFTP pull speed beside OpenSSH's sftp client (root: it starts a throwaway sshd)
bench-transport: setup
	$(BIN)/python bench/transport.py $(BENCH_ARGS)

#: analyst listings and searches on a generated store of 1,000,000 claims (built once,
#: about 15 minutes and 7 GB, under bench/data/; BENCH_ARGS="--claims 20000" for a quick one)
bench-query: setup
	$(BIN)/python bench/query.py $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check edi tests bench tools setup.py
	$(BIN)/ruff format --check edi tests bench tools setup.py
	$(BIN)/mypy

clean: clean-compiled
	rm -rf $(VENV) build $(DIST) build-wheel.log *.egg-info .pytest_cache .mypy_cache .ruff_cache
