# paydecide: `make demo` runs the nightly end to end on a synthetic world; `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
NPM_STAMP := node_modules/.package-lock.json
DEMO_DIR ?= .paydecide/demo-world
DEMO_USERS ?= 100000
DEMO_DATE ?= 2026-06-30
PD := node bin/paydecide.mjs

.PHONY: demo test typecheck deps bench-batch bench-train bench-online clean-demo

# npm ci only when package-lock.json changed since the last install.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

deps: $(NPM_STAMP)

demo: deps
	@export PAYDECIDE_REDIS_URL="$$(scripts/ensure-redis)"; \
	echo "== Redis: $$PAYDECIDE_REDIS_URL (prefix $${PAYDECIDE_PREFIX:-pd})"; \
	echo "== 1/6 generate a $(DEMO_USERS)-user world as of $(DEMO_DATE) into $(DEMO_DIR)"; \
	rm -rf $(DEMO_DIR); \
	$(PD) gen --out $(DEMO_DIR) --users $(DEMO_USERS) --date $(DEMO_DATE) --seed 42; \
	echo "== 2/6 nightly: train baseline if needed, features, ONNX scoring, publish, validate, flip, audiences"; \
	$(PD) nightly --data $(DEMO_DIR) --date $(DEMO_DATE); \
	echo "== 3/6 status"; \
	$(PD) status; \
	echo "== 4/6 one user's record, decoded"; \
	$(PD) scores get 123; \
	echo "== 5/6 tonight's CRM audiences (pull one with: $(PD) audiences pull <name> --to DIR [--format csv])"; \
	$(PD) audiences list; \
	echo "== 6/6 cost of the night (HTML: $(PD) report cost --html cost.html)"; \
	$(PD) report cost

typecheck: deps
	npx tsc --noEmit -p .

test: deps
	@export PAYDECIDE_REDIS_URL="$$(scripts/ensure-redis)"; \
	npx tsc --noEmit -p . && npx vitest run

bench-batch: deps
	@export PAYDECIDE_REDIS_URL="$$(scripts/ensure-redis)"; \
	npx tsx scripts/bench/batch-bench.ts

# TypeScript GBDT vs XGBoost hist (installs Debian's python3-xgboost when it can); BENCH_TRAIN_PARQUET=<dataset.parquet> trains on a training set from `paydecide dataset build`.
bench-train: deps
	npx tsx scripts/bench/train-bench.ts

# The online service under hey load (1k/2k/4k req/s, max, Redis slowed/lost) beside a bare Fastify+HGET ceiling; writes $PAYDECIDE_HOME/bench/online-result.json for `report cost`.
bench-online: deps
	@export PAYDECIDE_REDIS_URL="$$(scripts/ensure-redis)"; \
	npx tsx scripts/bench/online-bench.ts

clean-demo:
	rm -rf $(DEMO_DIR)
