// tests/cxx/api.cpp — the public headers from C++: a program that includes every one of them
// and calls the library with std::complex buffers.  The complex samples of the API are mn_cf32
// and mn_cf64 (mimonet/core.h): C's _Complex types in C, std::complex in C++, laid out alike.
// Each check computes its answer here, in C++, and compares it with the library's, so a layout
// or calling-convention mismatch fails.  Run by the suite's cxx_api_program test (MN_CXX, set by
// `make test`); exits 0 when every check passes.
#include "mimonet/core.h"
#include "mimonet/csi.h"
#include "mimonet/csi_e2e.h"
#include "mimonet/dsp.h"
#include "mimonet/io.h"
#include "mimonet/nn.h"
#include "mimonet/optim.h"
#include "mimonet/pim.h"
#include "mimonet/report.h"

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

int passed = 0, failed = 0;

void check(bool ok, const char *what)
{
    std::printf("%s: %s\n", ok ? "pass" : "FAIL", what);
    (ok ? passed : failed)++;
}

using cf = std::complex<float>;
using cd = std::complex<double>;

// H(f) of real taps returned by value (mn_cf64_ret): against the sum taken here.
void fir_response()
{
    const float h[4] = {0.5f, 0.25f, -0.125f, 0.0625f};
    double worst = 0;
    for (double f = -0.5; f <= 0.5; f += 0.0625) {
        cd want = 0;
        for (int k = 0; k < 4; k++) want += double(h[k]) * std::polar(1.0, -2 * M_PI * f * k);
        cd got = mn_fir_response_real(h, 4, f);
        worst = std::fmax(worst, std::abs(got - want));
    }
    check(worst < 1e-12, "mn_fir_response_real's value equals the sum over the taps");
}

// A complex FIR over std::complex buffers, in two calls: against the convolution taken here.
void fir_filter()
{
    const std::vector<cf> h = {{0.5f, 0.1f}, {-0.25f, 0.3f}, {0.125f, -0.2f}};
    std::vector<cf> x(37), y(x.size());
    for (size_t i = 0; i < x.size(); i++) x[i] = cf(std::cos(0.3f * i), std::sin(0.7f * i) - 0.2f);
    mn_firfilt *q = mn_firfilt_create(h.data(), int(h.size()));
    check(q != nullptr, "mn_firfilt_create takes std::complex taps");
    if (!q) return;
    mn_firfilt_execute(q, y.data(), x.data(), 20);
    mn_firfilt_execute(q, y.data() + 20, x.data() + 20, x.size() - 20);
    mn_firfilt_destroy(q);
    double worst = 0;
    for (size_t i = 0; i < x.size(); i++) {
        cd want = 0;
        for (size_t k = 0; k < h.size() && k <= i; k++) want += cd(h[k]) * cd(x[i - k]);
        worst = std::fmax(worst, std::abs(cd(y[i]) - want));
    }
    check(worst < 1e-5, "mn_firfilt_execute over std::complex buffers is the convolution");
}

// A light canceller 2 Tx -> 1 Rx streamed in uneven blocks from std::vector<std::complex<float>>:
// rx - stream output is the whole-signal prediction, delayed by the latency.
void pim_stream()
{
    const int n_tx = 2, n_rx = 1;
    const int64_t n = 3000;
    mn_rng rng;
    mn_rng_seed(&rng, 7);
    mn_pim_net net;
    if (mn_pim_net_create(&net, "light", n_tx, n_rx, 2, 512, &rng) != MN_OK) {
        check(false, "mn_pim_net_create(light, 2 -> 1)");
        return;
    }
    net.in_scale = 1.0f;
    net.out_scale = 1.0f;
    std::vector<cf> tx(size_t(n_tx) * n), rx(size_t(n_rx) * n), pred(size_t(n_rx) * n);
    for (int64_t i = 0; i < n; i++) {
        tx[i] = cf(float(mn_rng_normal(&rng)), float(mn_rng_normal(&rng)));
        tx[n + i] = cf(float(mn_rng_normal(&rng)), float(mn_rng_normal(&rng)));
        rx[i] = cf(float(mn_rng_normal(&rng)), float(mn_rng_normal(&rng)));
    }
    check(mn_pim_net_predict(&net, pred.data(), tx.data(), n) == MN_OK, "mn_pim_net_predict on std::complex");

    mn_pim_canceller *q = nullptr;
    if (mn_pim_canceller_from_net(&q, &net) != MN_OK) {
        check(false, "mn_pim_canceller_from_net");
        mn_pim_net_free(&net);
        return;
    }
    const int64_t D = mn_pim_canceller_latency(q);
    std::vector<cf> out(size_t(n_rx) * (n + D)), btx, brx, bout;
    const int64_t blocks[] = {1, 17, 256, 999, 5, 1722};
    int64_t at = 0;
    bool ok = true;
    for (int64_t b : blocks) {
        btx.assign(size_t(n_tx) * b, cf());
        for (int c = 0; c < n_tx; c++)
            std::memcpy(&btx[size_t(c) * b], &tx[size_t(c) * n + at], sizeof(cf) * b);
        brx.assign(rx.begin() + at, rx.begin() + at + b);
        bout.assign(size_t(b), cf());
        ok = ok && mn_pim_canceller_process(q, btx.data(), brx.data(), bout.data(), b) == MN_OK;
        std::copy(bout.begin(), bout.end(), out.begin() + at);
        at += b;
    }
    check(ok && at == n, "mn_pim_canceller_process in blocks of 1 to 1,722 samples");
    check(mn_pim_canceller_flush(q, out.data() + n) == MN_OK, "mn_pim_canceller_flush");
    double err = 0, ref = 0;
    for (int64_t i = 0; i < n; i++) {
        cd got = cd(rx[i]) - cd(out[i + D]);
        err += std::norm(got - cd(pred[i]));
        ref += std::norm(cd(pred[i]));
    }
    check(D > 0 && ref > 0 && err <= 1e-10 * ref, "the stream is rx minus the whole-signal prediction");
    mn_pim_canceller_free(q);
    mn_pim_net_free(&net);
}

// A refused call reports its status and message to C++ as to C.
void errors()
{
    mn_rng rng;
    mn_rng_seed(&rng, 1);
    mn_pim_net net;
    mn_status s = mn_pim_net_create(&net, "no-such-model", 2, 1, 1, 512, &rng);
    const char *msg = mn_error_msg();
    check(s == MN_ERR_INVALID && msg && std::strstr(msg, "light"), "an unknown kind is refused, naming the kinds");
    check(std::strlen(mn_status_str(s)) > 0, "mn_status_str");
}

} // namespace

int main()
{
    fir_response();
    fir_filter();
    pim_stream();
    errors();
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
