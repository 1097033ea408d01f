# mimonet — top-level Makefile.
#
#   make            build libmimonet.a, libmimonet.so, mimonet.pc and the mimonet CLI
#   make test       install missing Debian packages, build, run the test suite
#   make demo       install missing Debian packages, build, run `mimonet demo`
#   make asan       the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-clang the suite built with clang (installs it), in build-clang
#   make bench      benchmarks against PyTorch 1.13 (needs python3-torch; installs it)
#   make fuzz       libFuzzer + ASan/UBSan on every parser, FUZZ_SECONDS each (clang);
#                   FUZZ_RUNS=N FUZZ_SEED=S for a reproducible run (what CI does)
#   make install PREFIX=/usr/local
#
# Optional dependencies are detected with pkg-config, never assumed: OpenBLAS (fast GEMM),
# LAPACKE (least squares), matio (MAT files), OpenMP.  Required: cJSON, FFTW3 (single).
# With CI=true, warnings are errors.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
PKGCONF ?= pkg-config

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wdouble-promotion -Wno-unused-parameter
CXXWARN := -Wall -Wextra -Wpedantic -Wshadow
ifeq ($(CI),true)
WARN += -Werror
CXXWARN += -Werror
endif

# ---------------------------------------------------------------- dependency detection
have = $(shell $(PKGCONF) --exists $(1) 2>/dev/null && echo 1)
DEP_CFLAGS :=
DEP_LIBS   :=
FEATURES   :=
ifeq ($(call have,libcjson),1)
  DEP_CFLAGS += $(shell $(PKGCONF) --cflags libcjson)
  DEP_LIBS   += $(shell $(PKGCONF) --libs libcjson)
else
  DEP_LIBS   += -lcjson
endif
ifeq ($(call have,fftw3f),1)
  DEP_CFLAGS += $(shell $(PKGCONF) --cflags fftw3f)
  DEP_LIBS   += $(shell $(PKGCONF) --libs fftw3f)
else
  DEP_LIBS   += -lfftw3f
endif
ifeq ($(call have,openblas),1)
  DEP_CFLAGS += -DMN_HAVE_CBLAS $(shell $(PKGCONF) --cflags openblas)
  DEP_LIBS   += $(shell $(PKGCONF) --libs openblas)
  FEATURES   += openblas
endif
ifeq ($(call have,lapacke),1)
  DEP_CFLAGS += -DMN_HAVE_LAPACKE $(shell $(PKGCONF) --cflags lapacke)
  DEP_LIBS   += $(shell $(PKGCONF) --libs lapacke)
  FEATURES   += lapacke
endif
ifeq ($(call have,matio),1)
  DEP_CFLAGS += -DMN_HAVE_MATIO $(shell $(PKGCONF) --cflags matio)
  DEP_LIBS   += $(shell $(PKGCONF) --libs matio)
  FEATURES   += matio
  # zlib lets the MAT reader check the inside of compressed (v7) variables before matio does.
  ifeq ($(call have,zlib),1)
    DEP_CFLAGS += -DMN_HAVE_ZLIB $(shell $(PKGCONF) --cflags zlib)
    DEP_LIBS   += $(shell $(PKGCONF) --libs zlib)
  endif
endif
OMP_OK := $(shell echo 'int main(void){return 0;}' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo 1)
ifeq ($(OMP_OK),1)
  OMP := -fopenmp
  FEATURES += openmp
else
  WARN += -Wno-unknown-pragmas
endif

CFLAGS_ALL := -std=c11 -D_GNU_SOURCE $(OPT) -g -fPIC $(WARN) $(OMP) -Iinclude $(DEP_CFLAGS) $(CFLAGS)
LDLIBS_ALL := $(DEP_LIBS) $(OMP) -lm $(LDLIBS)

# Everything is rebuilt when the flags change (a dependency installed or removed since the last
# build, another CC or OPT): objects compiled before `make deps` found OpenBLAS would otherwise
# stay on the portable GEMM.  The stamp is rewritten only when its content differs.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(CFLAGS_ALL) | $(LDLIBS_ALL) $(LDFLAGS)
ifneq ($(file <$(FLAGS_STAMP)),$(FLAGS_NOW))
  $(shell mkdir -p $(BUILD))
  $(file >$(FLAGS_STAMP),$(FLAGS_NOW))
endif

# ---------------------------------------------------------------- sources
LIB_SRC   := $(sort $(wildcard src/core/*.c src/nn/*.c src/optim/*.c src/io/*.c src/dsp/*.c \
                                src/pim/*.c src/csi/*.c src/report/*.c))
CLI_SRC   := $(sort $(wildcard src/cli/*.c))
TEST_SRC  := $(sort $(wildcard tests/*/*.c))
TEST_CASES := $(sort $(wildcard tests/*/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))

LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/runner.o $(BUILD)/obj/test_registry.o
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/%)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/%)

.PHONY: $(BUILD)/mimonet.pc examples fuzz valgrind all lib cli test run-tests demo run-demo asan test-clang bench run-bench validate install \
        uninstall clean deps features
all: lib cli $(BUILD)/mimonet.pc
lib: $(BUILD)/libmimonet.a $(BUILD)/libmimonet.so
cli: $(BUILD)/mimonet

features:
	@echo "mimonet build features:$(FEATURES)"

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -c $< -o $@

$(BUILD)/libmimonet.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/libmimonet.so: $(LIB_OBJ) $(FLAGS_STAMP)
	$(CC) -shared -Wl,-soname,libmimonet.so.0 -o $@ $(LIB_OBJ) $(LDLIBS_ALL)

$(BUILD)/mimonet: $(CLI_OBJ) $(BUILD)/libmimonet.a $(FLAGS_STAMP)
	$(CC) $(OPT) $(OMP) -o $@ $(CLI_OBJ) $(BUILD)/libmimonet.a $(LDLIBS_ALL) $(LDFLAGS)

$(BUILD)/mimonet.pc:
	@mkdir -p $(BUILD)
	@printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: mimonet\nDescription: learned MIMO physical-layer processing\nVersion: 0.1.0\nLibs: -L$${libdir} -lmimonet\nLibs.private: %s\nCflags: -I$${includedir}\n' \
	  '$(PREFIX)' '$(strip $(LDLIBS_ALL))' > $@

$(BUILD)/test_registry.c: $(TEST_CASES) tools/gen_test_registry.sh
	@mkdir -p $(BUILD)
	sh tools/gen_test_registry.sh $(TEST_CASES) > $@

$(BUILD)/obj/test_registry.o: $(BUILD)/test_registry.c $(FLAGS_STAMP)
	$(CC) $(CFLAGS_ALL) -Itests -c $< -o $@

$(BUILD)/mimonet_tests: $(TEST_OBJ) $(BUILD)/libmimonet.a $(FLAGS_STAMP)
	$(CC) $(OPT) $(OMP) -o $@ $(TEST_OBJ) $(BUILD)/libmimonet.a $(LDLIBS_ALL) $(LDFLAGS)

# The public headers from C++ (tests/cxx/api.cpp), run by the suite's cxx_api_program test.
$(BUILD)/cxx_api: tests/cxx/api.cpp $(wildcard include/mimonet/*.h) $(BUILD)/libmimonet.a $(FLAGS_STAMP)
	$(CXX) -std=c++11 $(OPT) -g $(CXXWARN) $(OMP) -Iinclude $(CXXFLAGS) -o $@ $< $(BUILD)/libmimonet.a $(LDLIBS_ALL) $(LDFLAGS)

$(BUILD)/%: bench/%.c bench/bench_util.h $(BUILD)/libmimonet.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libmimonet.a $(LDLIBS_ALL)

$(BUILD)/%: examples/%.c $(BUILD)/libmimonet.a $(FLAGS_STAMP)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libmimonet.a $(LDLIBS_ALL)

examples: $(EXAMPLE_BIN)

# ---------------------------------------------------------------- the README commands
# Each first installs what is missing (tools/install-deps.sh), then re-enters make so that the
# dependency detection above sees the freshly installed packages.
deps:
	@sh tools/install-deps.sh

test: deps
	@$(MAKE) --no-print-directory run-tests

run-tests: all $(BUILD)/mimonet_tests $(BUILD)/cxx_api
	@echo "features:$(FEATURES)"
	MN_TEST_DATA=tests/data MN_CLI=$(BUILD)/mimonet MN_CXX=$(BUILD)/cxx_api $(BUILD)/mimonet_tests $(TEST_ARGS)

demo: deps
	@$(MAKE) --no-print-directory run-demo

run-demo: all
	$(BUILD)/mimonet demo --out out $(DEMO_ARGS)

test-clang: deps
	@sh tools/install-deps.sh --clang
	@$(MAKE) --no-print-directory CC=clang CXX=clang++ BUILD=build-clang run-tests

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined' \
	  LDFLAGS='-fsanitize=address,undefined' run-tests

bench: deps
	@sh tools/install-deps.sh --bench
	@$(MAKE) --no-print-directory run-bench

run-bench: all $(BENCH_BIN)
	sh bench/compare.sh $(BUILD)

FUZZ_SECONDS ?= 60
fuzz: deps
	@sh tools/install-deps.sh --fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SEED=$(FUZZ_SEED) sh tools/fuzz.sh

# valgrind memcheck over `mimonet demo --quick` (issue 7): any error or leak fails.  OpenBLAS
# is told to use its AVX (SandyBridge) kernels: under valgrind the preset FMA (Haswell) sgemm
# kernels run ~20x slower than those (28 s vs 1.3 s for three small training steps, measured),
# for no gain in coverage of our own code.  tools/valgrind.supp
# holds the one suppression (libgomp's pool threads, never joined).
valgrind: deps all
	@sh tools/install-deps.sh --valgrind
	@rm -rf $(BUILD)/valgrind-demo
	OPENBLAS_CORETYPE=SandyBridge OMP_WAIT_POLICY=passive valgrind --error-exitcode=99 --leak-check=full \
	  --suppressions=tools/valgrind.supp \
	  --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	  --num-callers=30 $(BUILD)/mimonet demo --quick --out $(BUILD)/valgrind-demo

validate: deps
	@$(MAKE) --no-print-directory all
	sh tools/validate.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/mimonet \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(BUILD)/libmimonet.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libmimonet.so $(DESTDIR)$(PREFIX)/lib/libmimonet.so.0
	ln -sf libmimonet.so.0 $(DESTDIR)$(PREFIX)/lib/libmimonet.so
	install -m 644 include/mimonet/*.h $(DESTDIR)$(PREFIX)/include/mimonet/
	install -m 755 $(BUILD)/mimonet $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/mimonet.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libmimonet.a $(DESTDIR)$(PREFIX)/lib/libmimonet.so* \
	  $(DESTDIR)$(PREFIX)/bin/mimonet $(DESTDIR)$(PREFIX)/lib/pkgconfig/mimonet.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/mimonet

clean:
	rm -rf build build-asan build-clang build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
