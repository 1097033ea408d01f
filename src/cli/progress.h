/* cli/progress.h — training progress on stderr, and SIGINT handling for long commands. */
#ifndef MN_CLI_PROGRESS_H
#define MN_CLI_PROGRESS_H

#include <stdio.h>

#include "mimonet/pim.h"

typedef struct {
    bool quiet;
    bool tty;         /* redraw one line (\r) instead of printing lines */
    double last_print;
    FILE *curve;      /* optional CSV: step,loss,lr,grad_norm,val_ape_db */
} mn_cli_progress_state;

void mn_cli_progress_init(mn_cli_progress_state *s, bool quiet);
/* An mn_pim_progress_fn: draws the bar; returns non-zero after SIGINT. */
int mn_cli_progress(const mn_pim_progress *p, void *user);
/* Install a SIGINT handler that sets a flag (a second SIGINT kills as usual). */
void mn_cli_catch_sigint(void);
bool mn_cli_interrupted(void);

#endif
