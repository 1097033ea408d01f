/* cli/progress.c — a one-line progress bar (loss, learning rate, validation APE, time) that
 * redraws on a terminal and prints a line every few seconds otherwise; SIGINT sets a flag that
 * training polls so it can stop cleanly and keep its best weights. */
#include "progress.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig)
{
    got_sigint = 1;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the process */
}

void mn_cli_catch_sigint(void) { signal(SIGINT, on_sigint); }
bool mn_cli_interrupted(void) { return got_sigint != 0; }

void mn_cli_progress_init(mn_cli_progress_state *s, bool quiet)
{
    s->quiet = quiet;
    s->tty = isatty(2) != 0;
    s->last_print = -1e9;
    s->curve = NULL;
}

int mn_cli_progress(const mn_pim_progress *p, void *user)
{
    mn_cli_progress_state *s = user;
    if (s->curve)
        fprintf(s->curve, "%ld,%.6g,%.6g,%.6g,%.4f\n", p->step, p->loss, p->lr, p->grad_norm, p->val_ape_db);
    bool last = p->step == p->steps;
    if (!s->quiet && (last || p->seconds - s->last_print >= (s->tty ? 0.2 : 5.0))) {
        s->last_print = p->seconds;
        const int W = 24;
        int fill = (int)((double)W * (double)p->step / (double)p->steps);
        char bar[32];
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = '\0';
        long done = p->step - p->first_step;
        double eta = done > 0 ? p->seconds * (double)(p->steps - p->step) / (double)done : 0;
        char val[48] = "val   --   ";
        if (isfinite(p->val_ape_db))
            snprintf(val, sizeof val, "val %5.1f dB (best %5.1f)", p->val_ape_db, p->best_val_ape_db);
        fprintf(stderr, "%s[%s] %6ld/%ld  loss %.3e  lr %.1e  %s  %5.1fs eta %4.0fs%s", s->tty ? "\r" : "", bar,
                p->step, p->steps, p->loss, p->lr, val, p->seconds, eta, s->tty ? "\033[K" : "\n");
        if (s->tty && last) fputc('\n', stderr);
        fflush(stderr);
    }
    return got_sigint ? 1 : 0;
}
