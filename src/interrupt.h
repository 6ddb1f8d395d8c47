/*
 * interrupt.h: Ctrl-C for programs that ask for it (the command line).
 * Once core.catch_interrupts() has run, SIGINT only sets a flag: a sleep
 * returns at once, and a transfer in flight stops at libcurl's next look at
 * its progress (a signal cuts libcurl's wait short, so within moments) and
 * fails with kind "interrupted". Nothing changes for programs that never
 * call it: nginx, embedding hosts and scripts keep their own signal
 * handling.
 */
#ifndef INTUNED_INTERRUPT_H
#define INTUNED_INTERRUPT_H

#include <curl/curl.h>

/* 1 once SIGINT arrived after catch_interrupts (until cleared). */
int intuned_interrupted(void);
/* 1 when catch_interrupts has run in this process. */
int intuned_catching(void);
/* Makes the handle's transfers stop when an interrupt arrives. */
CURLcode intuned_interrupt_attach(CURL *curl);

#endif /* INTUNED_INTERRUPT_H */
